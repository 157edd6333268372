from utilipay.cli.main import main

main()

"""Bill claims: a remote biller's bill in a live hub payment cannot be in a second one."""

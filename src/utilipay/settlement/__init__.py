"""Settlement (清分结算): the net owed to each utility, fees, payouts and their files."""

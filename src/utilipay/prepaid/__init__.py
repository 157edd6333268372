"""Prepaid smart payment (智能交费): a pre-stored balance per account, settled daily from
meter readings, with warnings, disconnection and reconnection, automatic top-up, the
pre-store reward and a monthly statement."""

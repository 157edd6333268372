"""Prepaid smart payment (智能交费): a pre-stored balance per account, settled daily from meter readings, with warnings, disconnection, reconnection, automatic top-up, rewards and a monthly statement."""

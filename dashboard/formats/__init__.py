"""The dashboard's own date formats for a language, where Django's do not read as people write.

Only what differs is here (FORMAT_MODULE_PATH): every other format comes from Django's locale.
"""

# sleep SECONDS returns at once: the log shows how long the script meant to wait.
[ $# -eq 1 ] || unsupported

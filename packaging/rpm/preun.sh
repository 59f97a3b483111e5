# fep-agent %preun ($1: 0 erase, 1 upgrade): on erase the service is stopped and disabled.
if [ "$1" -eq 0 ]; then
    if [ -d /run/systemd/system ]; then
        systemctl stop fep-agent.service >/dev/null 2>&1 || :
    fi
    if command -v systemctl >/dev/null 2>&1; then
        systemctl --no-reload disable fep-agent.service >/dev/null 2>&1 || :
    fi
fi
exit 0

# fep-agent %postun ($1: 0 erase, 1 upgrade): on upgrade a running agent restarts on the new
# binary. /etc/fep-agent (a changed agent.yaml is kept as agent.yaml.rpmsave), the token,
# /var/lib/fep-agent, /var/log/fep-agent and the fep-agent user are kept on erase.
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || :
    if [ "$1" -ge 1 ]; then
        systemctl try-restart fep-agent.service >/dev/null 2>&1 || :
    fi
fi
exit 0

# fep-agent %pre: the fep-agent system user ($1: 1 install, 2 upgrade).
getent group fep-agent >/dev/null 2>&1 || groupadd -r fep-agent
getent passwd fep-agent >/dev/null 2>&1 || \
    useradd -r -g fep-agent -d /var/lib/fep-agent -M -s /sbin/nologin \
        -c "fep-agent front-end exchange agent" fep-agent
exit 0

# fep-agent %post ($1: 1 install, 2 upgrade): its directories, the empty token file, and on a
# first install the service enabled but not started (the token and node id must be set first).
for dir in /var/lib/fep-agent /var/log/fep-agent; do
    [ -d "$dir" ] || install -d -m 0750 -o fep-agent -g fep-agent "$dir"
done
# The node token: created empty once, never replaced; kept when the package is erased.
if [ ! -e /etc/fep-agent/token ]; then
    install -m 0600 -o fep-agent -g fep-agent /dev/null /etc/fep-agent/token
fi
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || :
fi
if [ "$1" -eq 1 ] && command -v systemctl >/dev/null 2>&1; then
    systemctl enable fep-agent.service >/dev/null 2>&1 || :
    echo "fep-agent: installed and enabled, not started. Set node.id and exchange.url in"
    echo "  /etc/fep-agent/agent.yaml, put the node token in /etc/fep-agent/token, then:"
    echo "  fep-agent check-config && systemctl start fep-agent"
    echo "  (guide: /usr/share/doc/fep-agent/install.md, zh-CN/install.md)"
fi
exit 0

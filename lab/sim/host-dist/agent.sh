#!/bin/sh
# CloudMonitor host agent: pushes host and JVM metrics to the monitoring platform.
# Usage: agent.sh start|stop|status
AGENT_HOME=/opt/cloudmonitor
JAVA=/opt/jdk1.8.0_121/bin/java
PID_FILE="$AGENT_HOME/agent.pid"

running() {
  [ -s "$PID_FILE" ] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null
}

case "$1" in
  start)
    if running; then
      echo "cloudmonitor agent is already running (pid $(cat "$PID_FILE"))"
      exit 0
    fi
    mkdir -p "$AGENT_HOME/logs"
    nohup "$JAVA" -Xms32m -Xmx64m -cp "$AGENT_HOME/lib/cloudmonitor-agent-3.1.7.jar" \
      com.cloudmonitor.agent.AgentMain "$AGENT_HOME/conf/agent.properties" \
      >>"$AGENT_HOME/logs/agent.out" 2>&1 </dev/null &
    echo $! >"$PID_FILE"
    echo "cloudmonitor agent started (pid $!)"
    ;;
  stop)
    if running; then
      kill "$(cat "$PID_FILE")" && rm -f "$PID_FILE"
      echo "cloudmonitor agent stopped"
    else
      echo "cloudmonitor agent is not running"
    fi
    ;;
  status)
    if running; then
      echo "cloudmonitor agent is running (pid $(cat "$PID_FILE"))"
    else
      echo "cloudmonitor agent is not running"
      exit 3
    fi
    ;;
  *)
    echo "Usage: $0 start|stop|status" >&2
    exit 2
    ;;
esac

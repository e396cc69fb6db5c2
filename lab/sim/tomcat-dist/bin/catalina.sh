#!/bin/sh

# Licensed to the Apache Software Foundation (ASF) under one or more
# contributor license agreements.  See the NOTICE file distributed with
# this work for additional information regarding copyright ownership.
# The ASF licenses this file to You under the Apache License, Version 2.0.

# -----------------------------------------------------------------------------
# Control Script for the CATALINA Server
#
# Lab edition: the start/stop/run/version commands of Tomcat 7.0.67's catalina.sh,
# with the same environment variables (CATALINA_HOME, CATALINA_BASE, CATALINA_OUT,
# CATALINA_PID, CATALINA_TMPDIR, JAVA_HOME, JRE_HOME, JAVA_OPTS, CATALINA_OPTS;
# bin/setenv.sh is sourced) and the same java command line.
# -----------------------------------------------------------------------------

# resolve links - $0 may be a softlink
PRG="$0"

while [ -h "$PRG" ]; do
  ls=`ls -ld "$PRG"`
  link=`expr "$ls" : '.*-> \(.*\)$'`
  if expr "$link" : '/.*' > /dev/null; then
    PRG="$link"
  else
    PRG=`dirname "$PRG"`/"$link"
  fi
done

# Get standard environment variables
PRGDIR=`dirname "$PRG"`

# Only set CATALINA_HOME if not already set
[ -z "$CATALINA_HOME" ] && CATALINA_HOME=`cd "$PRGDIR/.." >/dev/null; pwd`

# Copy CATALINA_BASE from CATALINA_HOME if not already set
[ -z "$CATALINA_BASE" ] && CATALINA_BASE="$CATALINA_HOME"

if [ -r "$CATALINA_BASE/bin/setenv.sh" ]; then
  . "$CATALINA_BASE/bin/setenv.sh"
elif [ -r "$CATALINA_HOME/bin/setenv.sh" ]; then
  . "$CATALINA_HOME/bin/setenv.sh"
fi

if [ -z "$CATALINA_OUT" ] ; then
  CATALINA_OUT="$CATALINA_BASE"/logs/catalina.out
fi

if [ -z "$CATALINA_TMPDIR" ] ; then
  CATALINA_TMPDIR="$CATALINA_BASE"/temp
fi

if [ -z "$JAVA_HOME" ] && [ -z "$JRE_HOME" ]; then
  echo "Neither the JAVA_HOME nor the JRE_HOME environment variable is defined"
  echo "At least one of these environment variable is needed to run this program"
  exit 1
fi
if [ -z "$JRE_HOME" ]; then
  JRE_HOME="$JAVA_HOME"
fi
_RUNJAVA="$JRE_HOME"/bin/java

CLASSPATH="$CATALINA_HOME"/bin/bootstrap.jar:"$CATALINA_HOME"/bin/tomcat-juli.jar
LOGGING_CONFIG="-Djava.util.logging.config.file=$CATALINA_BASE/conf/logging.properties"
LOGGING_MANAGER="-Djava.util.logging.manager=org.apache.juli.ClassLoaderLogManager"
JAVA_ENDORSED_DIRS="$CATALINA_HOME"/endorsed

if [ "$1" = "start" ] || [ "$1" = "stop" ] || [ "$1" = "run" ]; then
  echo "Using CATALINA_BASE:   $CATALINA_BASE"
  echo "Using CATALINA_HOME:   $CATALINA_HOME"
  echo "Using CATALINA_TMPDIR: $CATALINA_TMPDIR"
  echo "Using JRE_HOME:        $JRE_HOME"
  echo "Using CLASSPATH:       $CLASSPATH"
  if [ ! -z "$CATALINA_PID" ]; then
    echo "Using CATALINA_PID:    $CATALINA_PID"
  fi
fi

if [ "$1" = "run" ]; then
  shift
  exec "$_RUNJAVA" $LOGGING_CONFIG $LOGGING_MANAGER $JAVA_OPTS $CATALINA_OPTS \
    -Djava.endorsed.dirs="$JAVA_ENDORSED_DIRS" -classpath "$CLASSPATH" \
    -Dcatalina.base="$CATALINA_BASE" -Dcatalina.home="$CATALINA_HOME" \
    -Djava.io.tmpdir="$CATALINA_TMPDIR" \
    org.apache.catalina.startup.Bootstrap "$@" start

elif [ "$1" = "start" ]; then
  if [ ! -z "$CATALINA_PID" ] && [ -s "$CATALINA_PID" ]; then
    if ps -p `cat "$CATALINA_PID"` >/dev/null 2>&1; then
      echo "Tomcat appears to still be running with PID `cat "$CATALINA_PID"`. Start aborted."
      echo "If the following process is not a Tomcat process, remove the PID file and try again:"
      ps -f -p `cat "$CATALINA_PID"`
      exit 1
    fi
  fi
  shift
  touch "$CATALINA_OUT"
  "$_RUNJAVA" $LOGGING_CONFIG $LOGGING_MANAGER $JAVA_OPTS $CATALINA_OPTS \
    -Djava.endorsed.dirs="$JAVA_ENDORSED_DIRS" -classpath "$CLASSPATH" \
    -Dcatalina.base="$CATALINA_BASE" -Dcatalina.home="$CATALINA_HOME" \
    -Djava.io.tmpdir="$CATALINA_TMPDIR" \
    org.apache.catalina.startup.Bootstrap "$@" start \
    >> "$CATALINA_OUT" 2>&1 &
  if [ ! -z "$CATALINA_PID" ]; then
    echo $! > "$CATALINA_PID"
  fi
  echo "Tomcat started."

elif [ "$1" = "stop" ]; then
  shift
  "$_RUNJAVA" $JAVA_OPTS \
    -Djava.endorsed.dirs="$JAVA_ENDORSED_DIRS" -classpath "$CLASSPATH" \
    -Dcatalina.base="$CATALINA_BASE" -Dcatalina.home="$CATALINA_HOME" \
    -Djava.io.tmpdir="$CATALINA_TMPDIR" \
    org.apache.catalina.startup.Bootstrap "$@" stop
  if [ $? != 0 ]; then
    echo "The stop command failed. Attempting to signal the process to stop through OS signal."
    if [ ! -z "$CATALINA_PID" ] && [ -s "$CATALINA_PID" ]; then
      kill -15 `cat "$CATALINA_PID"` >/dev/null 2>&1
    fi
  fi

elif [ "$1" = "version" ]; then
  "$_RUNJAVA" -classpath "$CATALINA_HOME/lib/catalina.jar" org.apache.catalina.util.ServerInfo

else
  echo "Usage: catalina.sh ( commands ... )"
  echo "commands:"
  echo "  run               Start Catalina in the current window"
  echo "  start             Start Catalina in a separate window"
  echo "  stop              Stop Catalina, waiting up to 5 seconds for the process to end"
  echo "  version           What version of tomcat are you running?"
  exit 1
fi

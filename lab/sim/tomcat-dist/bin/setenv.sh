# Site settings for this Tomcat, sourced by catalina.sh.
JAVA_HOME=/opt/jdk1.7.0_80
JAVA_OPTS="-Xms1024m -Xmx2048m -XX:MaxPermSize=256m -Dfile.encoding=UTF-8"

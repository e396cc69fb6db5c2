// Log line formats of the simulated products. Shared by the simulators (which write live lines)
// and by the scenarios' populate (which writes stale lines from "earlier starts the same day"),
// so both always agree. All times are the host's local time.

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function pad(n, width = 2) {
  return String(n).padStart(width, '0');
}

/** The date part of daily log file names. Example: fileDate(new Date(2025, 2, 14)) -> '2025-03-14'. */
export function fileDate(d) {
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

function clock(d, msSeparator) {
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}${msSeparator}${pad(d.getMilliseconds(), 3)}`;
}

/** Comindware daily log file name. Example: cmwLogName('heartbeat', d) -> 'heartbeat_2025-03-14.log'. */
export function cmwLogName(kind, d) {
  return `${kind}_${fileDate(d)}.log`;
}

/**
 * One Comindware log line; the level is padded to 10 columns as in the seed's
 * `... INFO      Skipping rebalancing (nothing scheduled) ...`.
 * Example: cmwLine(d, 12, 'INFO', 'Started') -> '2025-03-14 10:22:31.123 [ 12] INFO      Started'.
 */
export function cmwLine(d, thread, level, message) {
  return `${fileDate(d)} ${clock(d, '.')} [${String(thread).padStart(3)}] ${level.padEnd(10)}${message}`;
}

/**
 * Tomcat 7 catalina.out record (java.util.logging SimpleFormatter, two lines).
 * Example: julRecord(d, 'org.apache.catalina.startup.Catalina start', 'INFO', 'Server startup in 812 ms')
 * -> 'Mar 14, 2025 9:05:01 AM org.apache.catalina.startup.Catalina start\nINFO: Server startup in 812 ms'.
 */
export function julRecord(d, source, level, message) {
  const hour12 = d.getHours() % 12 === 0 ? 12 : d.getHours() % 12;
  const stamp = `${MONTHS[d.getMonth()]} ${pad(d.getDate())}, ${d.getFullYear()} ${hour12}:${pad(d.getMinutes())}:${pad(d.getSeconds())} ${d.getHours() < 12 ? 'AM' : 'PM'}`;
  return `${stamp} ${source}\n${level}: ${message}`;
}

/**
 * One log4j line (`%d %-5p [%t] %c - %m`) as the ecsc/ecmc web applications write it.
 * Example: log4jLine(d, 'INFO', 'main', 'c.App', 'up') -> '2025-03-14 10:22:31,123 INFO  [main] c.App - up'.
 */
export function log4jLine(d, level, thread, logger, message) {
  return `${fileDate(d)} ${clock(d, ',')} ${level.padEnd(5)} [${thread}] ${logger} - ${message}`;
}

/**
 * One Spring Boot 1.5 console/file line, as the schedule services write it.
 * Example: springLine(d, 'INFO', 42, 'main', 'c.c.s.ScheduleApplication', 'Started')
 * -> '2025-03-14 10:22:31.123  INFO 42 --- [           main] c.c.s.ScheduleApplication                : Started'.
 */
export function springLine(d, level, pid, thread, logger, message) {
  const threadCol = thread.length > 15 ? thread.slice(-15) : thread.padStart(15);
  const loggerCol = logger.length > 40 ? logger.slice(0, 40) : logger.padEnd(40);
  return `${fileDate(d)} ${clock(d, '.')} ${level.padStart(5)} ${pid} --- [${threadCol}] ${loggerCol} : ${message}`;
}

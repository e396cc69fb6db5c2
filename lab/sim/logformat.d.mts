// Types for logformat.mjs (the simulators are plain ESM so they run inside lab hosts without a build).

/** The date part of daily log file names. Example: fileDate(new Date(2025, 2, 14)) -> '2025-03-14'. */
export function fileDate(d: Date): string;
/** Comindware daily log file name. Example: cmwLogName('heartbeat', d) -> 'heartbeat_2025-03-14.log'. */
export function cmwLogName(kind: 'heartbeat' | 'igniteClient' | string, d: Date): string;
/** One Comindware log line. Example: '2025-03-14 10:22:31.123 [ 12] INFO      Started'. */
export function cmwLine(d: Date, thread: number, level: string, message: string): string;
/** Tomcat 7 catalina.out record (two lines). Example: 'Mar 14, 2025 9:05:01 AM org...Catalina start\nINFO: Server startup in 812 ms'. */
export function julRecord(d: Date, source: string, level: string, message: string): string;
/** One log4j line. Example: '2025-03-14 10:22:31,123 INFO  [main] c.App - up'. */
export function log4jLine(d: Date, level: string, thread: string, logger: string, message: string): string;
/** One Spring Boot line. Example: '2025-03-14 10:22:31.123  INFO 42 --- [           main] c.c.s.App : Started'. */
export function springLine(
  d: Date,
  level: string,
  pid: number,
  thread: string,
  logger: string,
  message: string,
): string;

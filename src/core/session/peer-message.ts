/**
 * A message for the peer, without this machine's paths: errors from the file system name absolute
 * paths (the receiving folder, the user's home), which are nobody else's business.
 */
export function forPeer(message: string): string {
  return message.replace(/(^|[\s'"(=])(\/|[A-Za-z]:\\|~\/)[^\s'",)]*/g, "$1<local path>");
}

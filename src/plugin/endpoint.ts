/**
 * Where a listener is bound or where to dial. `host` is an IP literal or name, without brackets.
 * Its own file so that the UDP helpers, which api.ts names (UdpPath), need nothing of api.ts.
 */
export interface Endpoint {
  host: string;
  port: number;
}

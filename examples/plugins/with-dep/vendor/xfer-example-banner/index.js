/** Whatever a real dependency does; here, decorate a line of text. */
export function banner(text) {
  return `${text} (via xfer-example-banner)`;
}

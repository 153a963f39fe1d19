// Code-unit string order (Go's `<` on strings): the order kube-proxy and our listings sort by.

export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

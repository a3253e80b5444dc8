/** Greets someone, politely. */
export function greet(name: string): string {
  return `hello, ${name}`;
}

export interface Options {
  shout: boolean;
}

export function announce(name: string, options: Options = { shout: false }): string {
  const text = greet(name);
  return options.shout ? text.toUpperCase() : text;
}

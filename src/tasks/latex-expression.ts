/**
 * A small LaTeX-to-expression parser (recursive descent) and evaluator, enough to compare
 * answers such as `2\sqrt3`, `\frac{11+9a}{20}` or `x^3+3x-6` numerically.
 */

export type Expression =
  | { kind: "number"; text: string }
  | { kind: "constant"; name: "pi" | "e" | "i" | "infinity" }
  | { kind: "variable"; name: string }
  | { kind: "negate"; operand: Expression }
  | { kind: "binary"; op: "+" | "-" | "*" | "/" | "^"; left: Expression; right: Expression }
  | { kind: "call"; fn: string; argument: Expression }
  | { kind: "root"; index: Expression; radicand: Expression }
  | { kind: "factorial"; operand: Expression }
  | { kind: "binomial"; n: Expression; k: Expression }
  /** `f(x)`: a value of an unknown function, not a product. */
  | { kind: "apply"; fn: string; argument: Expression }
  | { kind: "round"; mode: "floor" | "ceil"; operand: Expression }
  /** `\max(3, 5)`, `\min\{a, b\}`. */
  | { kind: "extremum"; mode: "max" | "min"; items: Expression[] };

export class ExpressionSyntaxError extends Error {}

type Token =
  | { type: "number"; text: string }
  | { type: "letter"; text: string }
  | { type: "command"; text: string }
  | { type: "symbol"; text: string };

/** Named functions: `\sin x`, `\ln(x)`, `\log_2 8`. */
export const FUNCTIONS = new Set(
  "sin cos tan cot sec csc arcsin arccos arctan sinh cosh tanh ln log exp abs".split(" "),
);

const CONSTANTS: Record<string, Expression> = {
  pi: { kind: "constant", name: "pi" },
  infty: { kind: "constant", name: "infinity" },
};

/** Letters that name a function when a parenthesis follows (`f(0)`); others multiply (`x(x+1)`). */
const FUNCTION_LETTERS = new Set(["f", "g", "h"]);
const ROUNDING: Record<string, { mode: "floor" | "ceil"; close: string }> = {
  lfloor: { mode: "floor", close: "\\rfloor" },
  lceil: { mode: "ceil", close: "\\rceil" },
};

const GREEK = new Set(
  "alpha beta gamma delta epsilon varepsilon zeta eta theta vartheta lambda mu nu xi rho sigma tau phi varphi chi psi omega".split(
    " ",
  ),
);

const MULTIPLY = new Set(["*", "\\cdot", "\\times"]);
const DIVIDE = new Set(["/", "\\div"]);
/** Layout-only commands that carry no meaning for the value. */
const IGNORED = new Set(["left", "right", "displaystyle", "bigl", "bigr", "Bigl", "Bigr", "big", "Big"]);

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const ch = source[i]!;
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    const number = /^(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/.exec(source.slice(i));
    if (number) {
      tokens.push({ type: "number", text: number[0] });
      i += number[0].length;
      continue;
    }
    if (ch === "\\") {
      const name = /^\\([a-zA-Z]+)/.exec(source.slice(i));
      if (name) {
        i += name[0].length;
        if (!IGNORED.has(name[1]!)) tokens.push({ type: "command", text: name[1]! });
        continue;
      }
      const escaped = source[i + 1];
      i += 2;
      if (escaped === "{" || escaped === "}")
        tokens.push({ type: "symbol", text: escaped === "{" ? "(" : ")" });
      // Other escaped characters (`\,`, `\!`, `\ `) are spacing.
      continue;
    }
    if (/[a-zA-Z]/.test(ch)) tokens.push({ type: "letter", text: ch });
    else tokens.push({ type: "symbol", text: ch });
    i++;
  }
  return tokens;
}

const OPEN_TO_CLOSE: Record<string, string> = { "(": ")", "[": "]", "{": "}" };

class Parser {
  private position = 0;
  constructor(private readonly tokens: Token[]) {}

  parseAll(): Expression {
    const expression = this.parseSum();
    if (this.position < this.tokens.length) {
      throw new ExpressionSyntaxError(`unexpected '${this.peek()?.text}'`);
    }
    return expression;
  }

  private peek(): Token | undefined {
    return this.tokens[this.position];
  }

  private next(): Token {
    const token = this.tokens[this.position++];
    if (!token) throw new ExpressionSyntaxError("unexpected end of expression");
    return token;
  }

  private isSymbol(text: string): boolean {
    const token = this.peek();
    return (
      token !== undefined &&
      (token.type === "symbol" || token.type === "command") &&
      tokenText(token) === text
    );
  }

  private parseSum(): Expression {
    let left = this.parseProduct();
    for (;;) {
      if (this.isSymbol("+")) {
        this.position++;
        left = { kind: "binary", op: "+", left, right: this.parseProduct() };
      } else if (this.isSymbol("-")) {
        this.position++;
        left = { kind: "binary", op: "-", left, right: this.parseProduct() };
      } else return left;
    }
  }

  private parseProduct(): Expression {
    let left = this.parseUnary();
    for (;;) {
      const token = this.peek();
      if (!token) return left;
      const text = tokenText(token);
      if (MULTIPLY.has(text)) {
        this.position++;
        left = { kind: "binary", op: "*", left, right: this.parseUnary() };
      } else if (DIVIDE.has(text)) {
        this.position++;
        left = { kind: "binary", op: "/", left, right: this.parseUnary() };
      } else if (this.startsPrimary(token)) {
        // Implicit multiplication: `2x`, `3\sqrt{2}`, `(a+5)(b+2)`.
        left = { kind: "binary", op: "*", left, right: this.parsePower() };
      } else return left;
    }
  }

  private parseUnary(): Expression {
    if (this.isSymbol("-")) {
      this.position++;
      return { kind: "negate", operand: this.parseUnary() };
    }
    if (this.isSymbol("+")) {
      this.position++;
      return this.parseUnary();
    }
    return this.parsePower();
  }

  private parsePower(): Expression {
    let base = this.parsePostfix();
    if (this.isSymbol("^")) {
      this.position++;
      base = { kind: "binary", op: "^", left: base, right: this.parseExponent() };
    }
    return base;
  }

  private parseExponent(): Expression {
    if (this.isSymbol("-")) {
      this.position++;
      return { kind: "negate", operand: this.parseExponent() };
    }
    // Right-associative: `2^3^2` is 2^(3^2).
    return this.parsePower();
  }

  private parsePostfix(): Expression {
    let operand = this.parsePrimary();
    for (;;) {
      if (this.isSymbol("!")) {
        this.position++;
        operand = { kind: "factorial", operand };
      } else if (this.isSymbol("_")) {
        // A subscript names a variable (`a_1`) or a base (`52_8`, read as written).
        this.position++;
        const subscript = this.parseArgument();
        if (operand.kind === "variable")
          operand = { kind: "variable", name: `${operand.name}_${describe(subscript)}` };
      } else return operand;
    }
  }

  private startsPrimary(token: Token): boolean {
    if (token.type === "number" || token.type === "letter") return true;
    if (token.type === "symbol") return token.text === "(" || token.text === "[" || token.text === "{";
    return (
      token.text === "frac" ||
      token.text.endsWith("binom") ||
      token.text === "sqrt" ||
      token.text in CONSTANTS ||
      FUNCTIONS.has(token.text) ||
      token.text in ROUNDING ||
      token.text === "max" ||
      token.text === "min" ||
      GREEK.has(token.text)
    );
  }

  private parsePrimary(): Expression {
    const token = this.next();
    if (token.type === "number") return { kind: "number", text: token.text };
    if (token.type === "letter") return this.parseLetter(token.text);
    if (token.type === "symbol") {
      const close = OPEN_TO_CLOSE[token.text];
      if (close) return this.parseGroupUntil(close);
      if (token.text === "|") {
        const inner = this.parseSum();
        this.expect("|");
        return { kind: "call", fn: "abs", argument: inner };
      }
      throw new ExpressionSyntaxError(`unexpected '${token.text}'`);
    }
    const name = token.text;
    if (name === "frac") {
      const numerator = this.parseArgument();
      const denominator = this.parseArgument();
      return { kind: "binary", op: "/", left: numerator, right: denominator };
    }
    if (name === "binom" || name === "dbinom" || name === "tbinom") {
      const n = this.parseArgument();
      const k = this.parseArgument();
      return { kind: "binomial", n, k };
    }
    if (name === "sqrt") {
      let index: Expression = { kind: "number", text: "2" };
      if (this.isSymbol("[")) {
        this.position++;
        index = this.parseGroupUntil("]");
      }
      return { kind: "root", index, radicand: this.parseArgument() };
    }
    if (name in CONSTANTS) return CONSTANTS[name]!;
    if (GREEK.has(name)) return { kind: "variable", name };
    if (FUNCTIONS.has(name)) return this.parseFunction(name);
    if (name === "max" || name === "min") return this.parseExtremum(name);
    const rounding = ROUNDING[name];
    if (rounding)
      return { kind: "round", mode: rounding.mode, operand: this.parseGroupUntil(rounding.close) };
    throw new ExpressionSyntaxError(`unsupported command '\\${name}'`);
  }

  /** `i` is the imaginary unit, `e` Euler's number, `f(x)` a function value. */
  private parseLetter(letter: string): Expression {
    if (letter === "i" || letter === "e") return { kind: "constant", name: letter };
    if (FUNCTION_LETTERS.has(letter) && this.isSymbol("(")) {
      this.position++;
      return { kind: "apply", fn: letter, argument: this.parseGroupUntil(")") };
    }
    return { kind: "variable", name: letter };
  }

  /** `\sin x`, `\sin(2x)`, `\sin^2 x`, `\log_2 8`. */
  private parseFunction(name: string): Expression {
    let power: Expression | undefined;
    let base: Expression | undefined;
    for (;;) {
      if (this.isSymbol("^")) {
        this.position++;
        power = this.parseArgument();
      } else if (this.isSymbol("_")) {
        this.position++;
        base = this.parseArgument();
      } else break;
    }
    let argument: Expression;
    const token = this.peek();
    if (token && token.type === "symbol" && token.text in OPEN_TO_CLOSE) argument = this.parsePower();
    else {
      // Without brackets the argument runs over juxtaposed factors: `\sin 2x` is sin(2x).
      argument = this.parsePower();
      for (
        let t = this.peek();
        t && this.startsPrimary(t) && !(t.type === "command" && FUNCTIONS.has(t.text));
      ) {
        argument = { kind: "binary", op: "*", left: argument, right: this.parsePower() };
        t = this.peek();
      }
    }
    let result: Expression = { kind: "call", fn: name, argument };
    if (base && name === "log") {
      result = {
        kind: "binary",
        op: "/",
        left: { kind: "call", fn: "ln", argument },
        right: { kind: "call", fn: "ln", argument: base },
      };
    }
    return power ? { kind: "binary", op: "^", left: result, right: power } : result;
  }

  /** `\max(a, b, …)` with parentheses or (escaped) braces around the items. */
  private parseExtremum(mode: "max" | "min"): Expression {
    const open = this.next();
    const close = open.type === "symbol" ? OPEN_TO_CLOSE[open.text] : undefined;
    if (!close) throw new ExpressionSyntaxError(`expected the items of \\${mode}`);
    const items = [this.parseSum()];
    while (this.isSymbol(",")) {
      this.position++;
      items.push(this.parseSum());
    }
    this.expect(close);
    return { kind: "extremum", mode, items };
  }

  /** A command argument: a braced group, or a single character/command (`\frac12`, `\sqrt3`). */
  private parseArgument(): Expression {
    const token = this.peek();
    if (!token) throw new ExpressionSyntaxError("missing argument");
    if (token.type === "symbol" && token.text === "{") {
      this.position++;
      return this.parseGroupUntil("}");
    }
    if (token.type === "number" && token.text.length > 1) {
      // Only the first digit belongs to the argument; the rest stays in the stream.
      const first = token.text[0]!;
      this.tokens[this.position] = { type: "number", text: token.text.slice(1) };
      return { kind: "number", text: first };
    }
    return this.parsePrimary();
  }

  private parseGroupUntil(close: string): Expression {
    const inner = this.parseSum();
    this.expect(close);
    return inner;
  }

  private expect(text: string): void {
    const token = this.next();
    if (tokenText(token) !== text)
      throw new ExpressionSyntaxError(`expected '${text}', found '${token.text}'`);
  }
}

function tokenText(token: Token): string {
  return token.type === "command" ? `\\${token.text}` : token.text;
}

function describe(expression: Expression): string {
  if (expression.kind === "number") return expression.text;
  if (expression.kind === "constant") return expression.name;
  if (expression.kind === "variable") return expression.name;
  return "?";
}

export function parseLatexExpression(source: string): Expression {
  return new Parser(tokenize(source)).parseAll();
}

export function variablesOf(expression: Expression, into: Set<string> = new Set()): Set<string> {
  switch (expression.kind) {
    case "variable":
      into.add(expression.name);
      break;
    case "negate":
    case "factorial":
    case "round":
      variablesOf(expression.operand, into);
      break;
    case "binary":
      variablesOf(expression.left, into);
      variablesOf(expression.right, into);
      break;
    case "call":
    case "apply":
      variablesOf(expression.argument, into);
      break;
    case "root":
      variablesOf(expression.index, into);
      variablesOf(expression.radicand, into);
      break;
    case "binomial":
      variablesOf(expression.n, into);
      variablesOf(expression.k, into);
      break;
    case "extremum":
      for (const item of expression.items) variablesOf(item, into);
      break;
  }
  return into;
}

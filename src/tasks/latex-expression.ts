/**
 * A small LaTeX-to-expression parser (recursive descent) and evaluator, enough to compare
 * answers such as `2\sqrt3`, `\frac{11+9a}{20}` or `x^3+3x-6` numerically.
 */

export type Expression =
  | { kind: "number"; value: number }
  | { kind: "variable"; name: string }
  | { kind: "negate"; operand: Expression }
  | { kind: "binary"; op: "+" | "-" | "*" | "/" | "^"; left: Expression; right: Expression }
  | { kind: "call"; fn: string; argument: Expression }
  | { kind: "root"; index: Expression; radicand: Expression }
  | { kind: "factorial"; operand: Expression }
  | { kind: "binomial"; n: Expression; k: Expression };

export class ExpressionSyntaxError extends Error {}

type Token =
  | { type: "number"; text: string }
  | { type: "letter"; text: string }
  | { type: "command"; text: string }
  | { type: "symbol"; text: string };

const FUNCTIONS: Record<string, (x: number) => number> = {
  sin: Math.sin,
  cos: Math.cos,
  tan: Math.tan,
  cot: (x) => 1 / Math.tan(x),
  sec: (x) => 1 / Math.cos(x),
  csc: (x) => 1 / Math.sin(x),
  arcsin: Math.asin,
  arccos: Math.acos,
  arctan: Math.atan,
  sinh: Math.sinh,
  cosh: Math.cosh,
  tanh: Math.tanh,
  ln: Math.log,
  log: Math.log10,
  exp: Math.exp,
  abs: Math.abs,
};

const CONSTANTS: Record<string, number> = { pi: Math.PI, infty: Number.POSITIVE_INFINITY };

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
      token.text in FUNCTIONS ||
      GREEK.has(token.text)
    );
  }

  private parsePrimary(): Expression {
    const token = this.next();
    if (token.type === "number") return { kind: "number", value: Number(token.text) };
    if (token.type === "letter") return { kind: "variable", name: token.text };
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
      let index: Expression = { kind: "number", value: 2 };
      if (this.isSymbol("[")) {
        this.position++;
        index = this.parseGroupUntil("]");
      }
      return { kind: "root", index, radicand: this.parseArgument() };
    }
    if (name in CONSTANTS) return { kind: "number", value: CONSTANTS[name]! };
    if (GREEK.has(name)) return { kind: "variable", name };
    if (name in FUNCTIONS) return this.parseFunction(name);
    throw new ExpressionSyntaxError(`unsupported command '\\${name}'`);
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
        t && this.startsPrimary(t) && !(t.type === "command" && t.text in FUNCTIONS);
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
      return { kind: "number", value: Number(first) };
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
  if (expression.kind === "number") return String(expression.value);
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
      variablesOf(expression.operand, into);
      break;
    case "binary":
      variablesOf(expression.left, into);
      variablesOf(expression.right, into);
      break;
    case "call":
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
  }
  return into;
}

/** Real-valued evaluation; NaN where undefined (unknown variable, negative radicand...). */
export function evaluateExpression(expression: Expression, values: ReadonlyMap<string, number>): number {
  switch (expression.kind) {
    case "number":
      return expression.value;
    case "variable":
      return values.get(expression.name) ?? Number.NaN;
    case "negate":
      return -evaluateExpression(expression.operand, values);
    case "factorial":
      return factorial(evaluateExpression(expression.operand, values));
    case "binomial": {
      const n = evaluateExpression(expression.n, values);
      const k = evaluateExpression(expression.k, values);
      return factorial(n) / (factorial(k) * factorial(n - k));
    }
    case "call":
      return FUNCTIONS[expression.fn]!(evaluateExpression(expression.argument, values));
    case "root": {
      const index = evaluateExpression(expression.index, values);
      const radicand = evaluateExpression(expression.radicand, values);
      // Odd roots of negative numbers are real.
      if (radicand < 0 && Number.isInteger(index) && index % 2 === 1) return -((-radicand) ** (1 / index));
      return radicand ** (1 / index);
    }
    case "binary": {
      const left = evaluateExpression(expression.left, values);
      const right = evaluateExpression(expression.right, values);
      switch (expression.op) {
        case "+":
          return left + right;
        case "-":
          return left - right;
        case "*":
          return left * right;
        case "/":
          return left / right;
        case "^":
          return left ** right;
      }
    }
  }
}

function factorial(n: number): number {
  if (!Number.isInteger(n) || n < 0 || n > 170) return Number.NaN;
  let result = 1;
  for (let k = 2; k <= n; k++) result *= k;
  return result;
}

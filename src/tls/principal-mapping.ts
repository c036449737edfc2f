/**
 * Kafka's `ssl.principal.mapping.rules` (KIP-371): a list of `RULE:pattern/replacement/[LU]` and
 * `DEFAULT`, tried in order on the client certificate's distinguished name; the first rule whose
 * pattern matches the whole name gives the principal's name (`$1`… from its groups, L/U to lower or
 * upper case it), DEFAULT gives the name unchanged. When none applies the client is refused, as in
 * Kafka. Java regular expressions and JavaScript's agree on what these rules use.
 */

export interface PrincipalRule {
  readonly pattern: RegExp | undefined; // undefined: DEFAULT
  readonly replacement: string;
  readonly toCase: 'L' | 'U' | '';
}

/** A rule list that does not parse; the message shows where. */
export class PrincipalRuleError extends Error {
  override readonly name = 'PrincipalRuleError';
}

const RULE = /\s*(?:(DEFAULT)|RULE:((?:\\.|[^\\/])*)\/((?:\\.|[^\\/])*)\/([LU]?))\s*(?:,|$)/y;

export function parsePrincipalRules(text: string): PrincipalRule[] {
  const rules: PrincipalRule[] = [];
  RULE.lastIndex = 0;
  let at = 0;
  while (at < text.length) {
    RULE.lastIndex = at;
    const match = RULE.exec(text);
    if (!match || match[0].length === 0) {
      throw new PrincipalRuleError(
        `ssl.principal.mapping.rules: cannot parse '${text.slice(at)}'; expected DEFAULT or RULE:pattern/replacement/[LU], comma-separated`,
      );
    }
    if (match[1]) {
      rules.push({ pattern: undefined, replacement: '', toCase: '' });
    } else {
      let pattern: RegExp;
      try {
        pattern = new RegExp(`^(?:${match[2]})$`);
      } catch (error) {
        throw new PrincipalRuleError(
          `ssl.principal.mapping.rules: bad pattern '${match[2]}': ${(error as Error).message}`,
        );
      }
      rules.push({ pattern, replacement: match[3]!, toCase: (match[4] ?? '') as PrincipalRule['toCase'] });
    }
    at = RULE.lastIndex;
  }
  if (rules.length === 0) rules.push({ pattern: undefined, replacement: '', toCase: '' });
  return rules;
}

/** The principal name for `distinguishedName`, or undefined when no rule applies. */
export function mapPrincipal(rules: readonly PrincipalRule[], distinguishedName: string): string | undefined {
  for (const rule of rules) {
    if (rule.pattern === undefined) return distinguishedName;
    if (!rule.pattern.test(distinguishedName)) continue;
    const name = distinguishedName.replace(rule.pattern, rule.replacement);
    return rule.toCase === 'L' ? name.toLowerCase() : rule.toCase === 'U' ? name.toUpperCase() : name;
  }
  return undefined;
}

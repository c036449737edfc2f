/**
 * Topic-exchange matching: binding keys are dot-separated words where `*` matches exactly one word
 * and `#` matches zero or more. Bindings are stored in a trie of words so a lookup walks the
 * routing key once instead of testing every binding.
 */
interface TrieNode<T> {
  children: Map<string, TrieNode<T>>;
  values: Set<T>;
}

function newNode<T>(): TrieNode<T> {
  return { children: new Map(), values: new Set() };
}

/** RabbitMQ splits keys into words on dots, and the empty key has no words at all (not one empty word). */
function words(key: string): string[] {
  return key === '' ? [] : key.split('.');
}

export class TopicTrie<T> {
  private readonly root: TrieNode<T> = newNode();

  add(pattern: string, value: T): void {
    let node = this.root;
    for (const word of words(pattern)) {
      let child = node.children.get(word);
      if (!child) {
        child = newNode();
        node.children.set(word, child);
      }
      node = child;
    }
    node.values.add(value);
  }

  remove(pattern: string, value: T): void {
    const path: Array<[TrieNode<T>, string]> = [];
    let node = this.root;
    for (const word of words(pattern)) {
      const child = node.children.get(word);
      if (!child) return;
      path.push([node, word]);
      node = child;
    }
    node.values.delete(value);
    // Prune empty branches so a churn of bindings does not leave the trie growing.
    for (let i = path.length - 1; i >= 0; i--) {
      const [parent, word] = path[i]!;
      const child = parent.children.get(word)!;
      if (child.values.size > 0 || child.children.size > 0) break;
      parent.children.delete(word);
    }
  }

  match(routingKey: string, out: Set<T>): void {
    this.walk(this.root, words(routingKey), 0, out);
  }

  private walk(node: TrieNode<T>, words: string[], index: number, out: Set<T>): void {
    const hash = node.children.get('#');
    if (hash) {
      // `#` consumes zero or more words: try every remaining suffix.
      for (let i = index; i <= words.length; i++) this.walk(hash, words, i, out);
    }
    if (index === words.length) {
      for (const value of node.values) out.add(value);
      return;
    }
    const exact = node.children.get(words[index]!);
    if (exact) this.walk(exact, words, index + 1, out);
    const star = node.children.get('*');
    if (star) this.walk(star, words, index + 1, out);
  }
}

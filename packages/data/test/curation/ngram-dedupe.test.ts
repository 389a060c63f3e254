/**
 * Dolma's n-gram paragraph dedup. Every expectation below is worked out by hand from Dolma's
 * src/deduper.rs, write_attributes (the `by_ngram` branch: window counting with `last_ngram_start`,
 * the `ngram_count < 2` whole-paragraph fallback, `overlap_fraction = duplicate_ngram_count as f32 /
 * ngram_count as f32`, `span_score >= overlap_threshold`, `Value::from(f32)` in the span) and from
 * src/wimbd/tokens.rs, tokenize (`split_word_bounds` pieces with a non-whitespace char) and its test
 * `test_tokenize_and_ngrams`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cmdDedupe, runDedupe, type DedupeOptions } from '../../src/curation/dedupe.js';
import { runMix } from '../../src/curation/mix.js';
import { dolmaTokenize } from '../../src/curation/ngram.js';
import { expectOlmoError, readJsonl, readText, tmp, writeDocs } from './helpers.js';

type Attr = { id: string; attributes: Record<string, number[][]> };
const ATTR = 'ngram_dup';

async function dedupe(root: string, ngram: { ngramLength: number; stride: number; overlapThreshold: number; skipShortParagraphs?: boolean }, extra: Partial<DedupeOptions> = {}): Promise<{ parsed: Attr[]; raw: string }> {
  await runDedupe({
    documents: [path.join(root, 'documents')], name: 'ng', paragraphs: { attributeName: ATTR, byNgram: ngram },
    bloom: { file: path.join(root, 'ng.bloom'), expectedItems: 10_000, falsePositiveRate: 1e-12 }, quiet: true, ...extra,
  });
  const file = path.join(root, 'attributes/ng/a.jsonl');
  return { parsed: readJsonl<Attr>(file), raw: readText(file) };
}

describe('tokenize — Dolma src/wimbd/tokens.rs (UAX #29 word bounds, whitespace pieces dropped)', () => {
  it('reproduces Dolma\'s own test_tokenize_and_ngrams', () => {
    expect(dolmaTokenize('You can follow any responses to this entry through the RSS 2.0 feed')).toEqual(
      ['You', 'can', 'follow', 'any', 'responses', 'to', 'this', 'entry', 'through', 'the', 'RSS', '2.0', 'feed']);
  });
  it('punctuation is a token; MidLetter/MidNum keep can\'t, e.g, 3,000.5 whole (WB6/7, WB11/12)', () => {
    expect(dolmaTokenize('Hello,  world... can\'t e.g. 3,000.5\tx_y')).toEqual(['Hello', ',', 'world', '.', '.', '.', 'can\'t', 'e.g', '.', '3,000.5', 'x_y']);
  });
  it('Han and Thai break around every character (Word_Break=Other, no dictionary); marks stay attached (WB4); Katakana and digits join (WB13, WB8)', () => {
    expect(dolmaTokenize('中文字 ภาษา ที่ 東京タワー ๑๒')).toEqual(['中', '文', '字', 'ภ', 'า', 'ษ', 'า', 'ที่', '東', '京', 'タワー', '๑๒']);
  });
});

describe('dedupe paragraphs.by_ngram — Dolma src/deduper.rs write_attributes', () => {
  it('overlap fraction per paragraph, whole-paragraph fallback under 2 n-grams, span score = fraction, threshold inclusive', async () => {
    const root = tmp();
    writeDocs(root, 'a.jsonl', [
      // 5 tokens → 3 trigrams, all new: 0/3 < 0.5, no span; the trigrams are inserted
      { id: '1', text: 'the quick brown fox jumps' },
      // "a quick brown fox jumps high": [a quick brown] new, [quick brown fox] dup, [brown fox jumps] dup, [fox jumps high] new → 2/4 = 0.5 ≥ 0.5
      //   28 chars, offset 28 < 32 bytes - 1 → +1: span [0, 29, 0.5]
      // "Hi." → tokens Hi . → 0 trigrams → fallback: whole paragraph new → score 0, inserted
      { id: '2', text: 'a quick brown fox jumps high\nHi.' },
      // "Hi." → fallback hit → [0, 4, 1.0]; "quick brown fox, then" → [quick brown fox] dup, [brown fox ,] new, [fox , then] new → 1/3 < 0.5
      { id: '3', text: 'Hi.\nquick brown fox, then' },
      { id: '4', text: '' }, // empty text: no attribute (text_length > 0 check)
    ]);
    const { parsed, raw } = await dedupe(root, { ngramLength: 3, stride: 0, overlapThreshold: 0.5 });
    expect(parsed).toEqual([
      { id: '1', attributes: { [ATTR]: [] } },
      { id: '2', attributes: { [ATTR]: [[0, 29, 0.5]] } },
      { id: '3', attributes: { [ATTR]: [[0, 4, 1]] } },
      { id: '4', attributes: {} },
    ]);
    // serde_json writes the f32 score widened to f64: 1.0, not 1
    expect(raw.split('\n')[2]).toBe(`{"id":"3","attributes":{"${ATTR}":[[0,4,1.0]]}}`);
  });

  it('threshold 0 writes every scored paragraph, scores as f32 widened to f64 (1/3 → 0.3333333432674408, 0 → 0.0)', async () => {
    const root = tmp();
    writeDocs(root, 'a.jsonl', [
      { id: '1', text: 'the quick brown fox jumps' }, // 0/3
      { id: '2', text: 'quick brown fox, then' }, // 1/3 in f32
    ]);
    const { raw } = await dedupe(root, { ngramLength: 3, stride: 0, overlapThreshold: 0 });
    expect(raw.split('\n').slice(0, 2)).toEqual([
      `{"id":"1","attributes":{"${ATTR}":[[0,25,0.0]]}}`,
      `{"id":"2","attributes":{"${ATTR}":[[0,21,${Math.fround(1 / 3)}]]}}`,
    ]);
    expect(String(Math.fround(1 / 3))).toBe('0.3333333432674408');
  });

  it('stride: a window counts when last_ngram_start == 0 or start - last >= stride (so windows 0, 1, 3, 5 of 6 with stride 2)', async () => {
    const root = tmp();
    writeDocs(root, 'a.jsonl', [
      { id: '1', text: 'a b c d e f' }, // unigrams at 0 (a), 1 (b: last start still 0), 3 (d), 5 (f) are inserted; c and e never are
      { id: '2', text: 'c e' }, // stride 2 again: windows at 0 and 1 (the quirk) → c, e: both new → 0/2
      { id: '3', text: 'b d' }, // → b, d: both seen → 2/2 = 1
      { id: '4', text: 'c f' }, // c was inserted by doc 2, f by doc 1 → 2/2
    ]);
    const { parsed } = await dedupe(root, { ngramLength: 1, stride: 2, overlapThreshold: 0 });
    expect(parsed.map((x) => x.attributes[ATTR])).toEqual([[[0, 11, 0]], [[0, 3, 0]], [[0, 3, 1]], [[0, 3, 1]]]);
  });

  it('skip_short_paragraphs: fewer than 2 n-grams → no fallback and no span (0/0 is NaN)', async () => {
    const docs = [{ id: '1', text: 'Hi.\nHi.' }]; // "Hi." [0,4), "Hi." [4,7): offset 7 is not < 7 bytes - 1
    const a = tmp();
    writeDocs(a, 'a.jsonl', docs);
    expect((await dedupe(a, { ngramLength: 3, stride: 0, overlapThreshold: 0.5 })).parsed[0]!.attributes[ATTR]).toEqual([[4, 7, 1]]);
    const b = tmp();
    writeDocs(b, 'a.jsonl', docs);
    expect((await dedupe(b, { ngramLength: 3, stride: 0, overlapThreshold: 0, skipShortParagraphs: true })).parsed[0]!.attributes[ATTR]).toEqual([]);
  });

  it('read-only: a filter built from other text tags overlapping paragraphs without inserting (decontamination use)', async () => {
    const evalRoot = tmp();
    writeDocs(evalRoot, 'a.jsonl', [{ id: 'q', text: 'what is the capital city of france today' }]);
    const bloom = path.join(evalRoot, 'eval.bloom');
    await runDedupe({ documents: [path.join(evalRoot, 'documents')], name: 'ng', paragraphs: { attributeName: ATTR, byNgram: { ngramLength: 4, stride: 0, overlapThreshold: 1 } }, bloom: { file: bloom, expectedItems: 1000, falsePositiveRate: 1e-12 }, quiet: true });
    const train = tmp();
    // 7 tokens → 4 four-grams; [the capital city of] and [capital city of france] are in the eval filter → 2/4
    // twice the same paragraph: read-only never inserts, so both score 0.5
    writeDocs(train, 'a.jsonl', [{ id: 't', text: 'so the capital city of france is\nso the capital city of france is' }]);
    const { parsed } = await dedupe(train, { ngramLength: 4, stride: 0, overlapThreshold: 0.5 }, { bloom: { file: bloom, readOnly: true } });
    expect(parsed[0]!.attributes[ATTR]).toEqual([[0, 33, 0.5], [33, 65, 0.5]]);
  });

  it('mix drops the tagged paragraphs with span_replacement min_score (the spans include the newline)', async () => {
    const root = tmp();
    writeDocs(root, 'a.jsonl', [
      { id: '1', text: 'the quick brown fox jumps' },
      { id: '2', text: 'a quick brown fox jumps high\nHi.' },
    ]);
    await dedupe(root, { ngramLength: 3, stride: 0, overlapThreshold: 0 });
    const r = await runMix([{
      name: 'm', documents: [path.join(root, 'documents/*.jsonl')], attributes: ['ng'],
      spanReplacement: [{ span: `$.attributes.${ATTR}`, minScore: 0.5, replacement: '' }], output: { path: path.join(root, 'out'), minTextLength: 1 },
    }], { quiet: true });
    const out = readText(path.join(root, 'out/m-0000.jsonl.gz')).split('\n').filter(Boolean);
    // doc 1 scores 0 (kept verbatim); doc 2: paragraph 1 scores 0.5 → dropped with its newline; "Hi." scores 0 → kept
    expect(out[0]).toBe('{"id":"1","text":"the quick brown fox jumps"}');
    expect(JSON.parse(out[1]!).text).toBe('Hi.');
    expect(r.streams[0]!.replacedBy[`$.attributes.${ATTR}`]).toEqual({ spans: 1, chars: 29 });
  });

  it('CLI flags and Dolma\'s YAML (dedupe.paragraphs.by_ngram) give the same attributes; bad values are typed', async () => {
    const docs = [{ id: '1', text: 'the quick brown fox jumps' }, { id: '2', text: 'a quick brown fox jumps high' }];
    const a = tmp();
    writeDocs(a, 'a.jsonl', docs);
    const lines: string[] = [];
    expect(await cmdDedupe(['--documents', path.join(a, 'documents'), '--name', 'ng', '--attribute-name', ATTR, '--ngram-length', '3', '--stride', '0', '--overlap-threshold', '0.5', '--bloom-file', path.join(a, 'b.bloom'), '--quiet'], { out: (s) => lines.push(s) })).toBe(0);
    const b = tmp();
    writeDocs(b, 'a.jsonl', docs);
    const cfg = path.join(b, 'dedupe.yaml');
    writeFileSync(cfg, `documents: [documents/a.jsonl]\ndedupe:\n  name: ng\n  paragraphs:\n    attribute_name: ${ATTR}\n    by_ngram: {ngram_length: 3, stride: 0, overlap_threshold: 0.5}\nbloom_filter: {file: b.bloom, estimated_doc_count: 1000, desired_false_positive_rate: 0.000001}\n`);
    expect(await cmdDedupe(['--config', cfg, '--quiet'], { out: () => {} })).toBe(0);
    const got = readFileSync(path.join(a, 'attributes/ng/a.jsonl'), 'utf8');
    expect(readFileSync(path.join(b, 'attributes/ng/a.jsonl'), 'utf8')).toBe(got);
    expect(got.split('\n')[1]).toBe(`{"id":"2","attributes":{"${ATTR}":[[0,28,0.5]]}}`);

    writeFileSync(cfg, `documents: [documents/a.jsonl]\ndedupe:\n  name: ng\n  paragraphs:\n    attribute_name: x\n    by_ngram: {ngram_length: 3}\nbloom_filter: {file: b.bloom}\n`);
    await expectOlmoError(cmdDedupe(['--config', cfg, '--quiet'], { out: () => {} }), 'CONFIG_INVALID', 'by_ngram');
    await expectOlmoError(cmdDedupe(['--documents', path.join(a, 'documents'), '--name', 'x', '--stride', '2', '--bloom-file', path.join(a, 'c.bloom')], { out: () => {} }), 'INVALID_ARGUMENT', '--ngram-length');
    await expectOlmoError(runDedupe({ documents: [path.join(a, 'documents')], name: 'x', paragraphs: { attributeName: 'p', byNgram: { ngramLength: 2.5, stride: 0, overlapThreshold: 1 } }, bloom: { file: path.join(a, 'd.bloom') }, quiet: true }), 'INVALID_ARGUMENT', 'ngram_length');
    await expectOlmoError(runDedupe({ documents: [path.join(a, 'documents')], name: 'x', paragraphs: { attributeName: 'p', byNgram: { ngramLength: 3, stride: 0, overlapThreshold: 1 } }, bloom: { file: path.join(a, 'e.bloom') }, quiet: true, share: { rank: 0, worldSize: 2 } }), 'INVALID_ARGUMENT', 'one process');
  });
});

// The TF-IDF nearest-centroid baseline, on texts small enough to check by hand.
import { describe, expect, it } from 'vitest';
import { type LabelledText, TfidfNearestCentroid, words } from '../../engine/src/calibration/bagOfWords';

const rows = (list: Array<[string, number]>) => () =>
  (async function* (): AsyncGenerator<LabelledText> {
    for (const [text, concept] of list) yield { text, concept };
  })();

describe('words', () => {
  it('lower-cases and keeps runs of letters, marks and digits in any script', () => {
    expect(words("Don't KILL the café-process #42!")).toEqual(['don', 't', 'kill', 'the', 'café', 'process', '42']);
    expect(words('x^2 + 3x = 0')).toEqual(['x', '2', '3x', '0']);
    expect(words('Как сделать бомбу')).toEqual(['как', 'сделать', 'бомбу']);
    expect(words(' ?! ')).toEqual([]);
  });
});

describe('TfidfNearestCentroid', () => {
  it('classifies by the words that tell concepts apart, and ignores words unseen in training', async () => {
    // "please" is in every training prompt (idf ln(5/5) + 1 = 1): saying it three times does not outweigh one "code".
    const model = await TfidfNearestCentroid.fit(
      rows([
        ['please bake bread', 0],
        ['please bake a cake', 0],
        ['please code python', 1],
        ['please code rust', 1],
      ]),
      2,
    );
    expect(model.trainingRows).toBe(4);
    expect(model.vocabularySize).toBe(8); // please bake bread a cake code python rust
    expect(model.predict('please please please code')).toBe(1);
    expect(model.predict('BAKE, please')).toBe(0);
    // Only unseen words: every cosine is 0, and the first concept wins the tie.
    expect(model.predict('zebra xylophone')).toBe(0);
  });

  it('never predicts a concept without training rows', async () => {
    const model = await TfidfNearestCentroid.fit(rows([['apple pie', 1], ['apple crumble', 1]]), 3);
    expect(model.predict('apple')).toBe(1);
    expect(model.predict('nothing known')).toBe(1);
  });
});

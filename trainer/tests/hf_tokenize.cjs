// Encodes strings with @huggingface/tokenizers (the engine's tokenizer) so pytest can compare ids
// with our Python encoder. Usage: node hf_tokenize.cjs tokenizer.json cases.json  (cases: [{text}])
const { Tokenizer } = require('@huggingface/tokenizers');
const fs = require('fs');
const tok = new Tokenizer(JSON.parse(fs.readFileSync(process.argv[2], 'utf8')), {});
const cases = JSON.parse(fs.readFileSync(process.argv[3], 'utf8'));
const ids = cases.map((c) => tok.encode(c.text, { add_special_tokens: false }).ids);
process.stdout.write(JSON.stringify(ids));

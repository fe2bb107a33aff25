// The independent side of the tokenizer tests: Hugging Face's pure-JavaScript tokenizers (@huggingface/tokenizers,
// the implementation Transformers.js uses) encodes each string with a published tokenizer.json.
//   node tools/tokenize.mjs LIBRARY_DIR TOKENIZER_JSON STRINGS_JSON  →  JSON: [[ids of string 0], ...]
// tokenizer_config.json beside tokenizer.json, when present, is read too (whether a BOS token is added).
import { existsSync, readFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { pathToFileURL } from "node:url";

const [library, tokenizerPath, stringsPath] = process.argv.slice(2);
const { Tokenizer } = await import(pathToFileURL(join(library, "dist", "tokenizers.mjs")).href);
const configPath = join(dirname(tokenizerPath), "tokenizer_config.json");
const config = existsSync(configPath) ? JSON.parse(readFileSync(configPath, "utf8")) : {};
const tokenizer = new Tokenizer(JSON.parse(readFileSync(tokenizerPath, "utf8")), config);
const strings = JSON.parse(readFileSync(stringsPath, "utf8"));
process.stdout.write(JSON.stringify(strings.map((s) => tokenizer.encode(s).ids)));

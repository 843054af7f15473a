import { strict as assert } from "node:assert";
import { brownFileToText, readBrownDocuments, splitBrownDocuments } from "../../scripts/base-model/brown-corpus";

describe("Brown corpus to plain text", () => {
  it("strips tags and rejoins punctuation, quotes and contractions as printed English", () => {
    const raw =
      "\n\n\t``/`` Only/rb a/at handful/nn was/bedz received/vbn ''/'' ,/, the/at jury/nn said/vbd ./.\n\n\n" +
      "\tHe/pps didn't/dod* (/( really/rb )/) ask/vb ;/. 1/2/cd of/in them/ppo left/vbd --/-- why/wrb ?/.\n";
    assert.equal(
      brownFileToText(raw),
      '"Only a handful was received", the jury said.\nHe didn\'t (really) ask; 1/2 of them left -- why?',
    );
  });

  it("holds out exactly the last text of each of the 15 genres", () => {
    const documents = readBrownDocuments();
    const { train, heldOut } = splitBrownDocuments(documents);
    assert.equal(documents.length, 500);
    assert.equal(heldOut.length, 15);
    assert.equal(new Set(heldOut.map((d) => d.genre)).size, 15);
    assert.equal(train.length + heldOut.length, 500);
    const trainIds = new Set(train.map((d) => d.id));
    assert.ok(heldOut.every((d) => !trainIds.has(d.id)));
    for (const document of heldOut) {
      const sameGenre = documents.filter((d) => d.genre === document.genre);
      assert.equal(document.id, sameGenre[sameGenre.length - 1].id);
    }
    // The corpus's famous first sentence (ca01), as printed.
    assert.ok(documents[0].text.startsWith("The Fulton County Grand Jury said Friday an investigation of Atlanta's"));
  });
});

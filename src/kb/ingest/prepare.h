// Turning a parsed document into what the shard stores (records) and what the index needs
// (finished index documents). CPU-heavy, side-effect free: runs on the ingestion worker threads.
//
// Thread safety: pure functions over a thread-safe Analyzer and LexicalIndex::Build.
#pragma once

#include <string>
#include <vector>

#include "kb/analysis/analyzer.h"
#include "kb/index/lexical_index.h"
#include "kb/ingest/chunker.h"
#include "kb/parse/document.h"
#include "kb/store/shard.h"

namespace dv::kb {

struct PreparedDocument {
  DocumentRecord record;            // id and chunk_count filled by the writer
  std::vector<ChunkRecord> chunks;  // ids filled by the writer
  std::vector<IndexDocument> index;  // parallel to `chunks`; built by `index.Build`
};

// Chunks and analyses `doc` and builds the index documents of its chunks. `record` carries the
// source, hash, size, tags, kb id; its title, mime type and date are filled from `doc` when empty.
Result<PreparedDocument> PrepareDocument(const Analyzer& analyzer, const LexicalIndex& index,
                                         const ChunkerOptions& chunker, DocumentRecord record,
                                         const ParsedDocument& doc);

// The index entry of one stored chunk (the recovery path re-analyses from the database).
IndexedChunk AnalyzeChunk(const Analyzer& analyzer, const DocumentRecord& doc, const ChunkRecord& chunk);

// "2024-03-05" from a date-ish metadata value ("2024-03-05T10:00", "2024/3/5"); "" if none.
std::string NormalizeDate(std::string_view value);
// Lower-cased, trimmed, comma-free tags; empty ones dropped. InvalidArgument for a tag longer
// than 64 bytes or with control characters.
Result<std::vector<std::string>> NormalizeTags(const std::vector<std::string>& tags);
std::vector<std::string> SplitTags(const std::string& joined);

}  // namespace dv::kb

// A plain .zip archive: every file member becomes an Attachment (the caller parses each one
// as its own document, at nesting_depth + 1). Members are inflated under the ZipReader limits.
#include "kb/parse/formats.h"
#include "kb/parse/zip_reader.h"

namespace dv::kb::internal {

Status ParseZipArchive(std::string_view bytes, const ParseOptions& options, ParsedDocument& doc) {
  DV_ASSIGN_OR_RETURN(auto zip, ZipReader::Open(bytes, options));
  for (uint64_t i = 0; i < zip->names().size(); ++i) {
    const std::string& name = zip->names()[i];
    if (name.empty() || name.back() == '/') continue;
    if (doc.attachments.size() >= options.max_attachments) {
      return ResourceExhausted("archive has more than " + std::to_string(options.max_attachments) + " files");
    }
    DV_ASSIGN_OR_RETURN(std::string member, zip->ReadIndex(i));
    doc.attachments.push_back(Attachment{name, "application/octet-stream", std::move(member)});
  }
  doc.metadata["members"] = std::to_string(doc.attachments.size());
  return Status::Ok();
}

}  // namespace dv::kb::internal

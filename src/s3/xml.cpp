#include "s3/xml.hpp"

#include <pugixml.hpp>
#include <sstream>

namespace tb::s3::xml {
namespace {

bool load(pugi::xml_document& doc, std::string_view body) {
  return static_cast<bool>(
      doc.load_buffer(body.data(), body.size(), pugi::parse_default, pugi::encoding_utf8));
}

std::string text_of(const pugi::xml_node& node, const char* child) {
  return node.child(child).text().as_string();
}

}  // namespace

std::optional<ErrorReply> parse_error(std::string_view body) {
  pugi::xml_document doc;
  if (body.empty() || !load(doc, body)) return std::nullopt;
  auto root = doc.document_element();
  if (std::string_view(root.name()) != "Error") return std::nullopt;
  return ErrorReply{text_of(root, "Code"), text_of(root, "Message"), text_of(root, "RequestId")};
}

std::string parse_upload_id(std::string_view body) {
  pugi::xml_document doc;
  if (!load(doc, body)) return {};
  auto root = doc.document_element();
  if (std::string_view(root.name()) != "InitiateMultipartUploadResult") return {};
  return text_of(root, "UploadId");
}

std::string complete_body(const std::vector<Part>& parts) {
  pugi::xml_document doc;
  auto root = doc.append_child("CompleteMultipartUpload");
  root.append_attribute("xmlns") = "http://s3.amazonaws.com/doc/2006-03-01/";
  for (const auto& p : parts) {
    auto part = root.append_child("Part");
    part.append_child("PartNumber").text().set(p.number);
    part.append_child("ETag").text().set(p.etag.c_str());
  }
  std::ostringstream out;
  doc.save(out, "", pugi::format_raw);
  return out.str();
}

std::optional<UploadsPage> parse_uploads(std::string_view body) {
  pugi::xml_document doc;
  if (!load(doc, body)) return std::nullopt;
  auto root = doc.document_element();
  if (std::string_view(root.name()) != "ListMultipartUploadsResult") return std::nullopt;
  UploadsPage page;
  page.truncated = std::string_view(root.child("IsTruncated").text().as_string()) == "true";
  page.next_key_marker = text_of(root, "NextKeyMarker");
  page.next_upload_id_marker = text_of(root, "NextUploadIdMarker");
  for (auto u : root.children("Upload")) {
    page.uploads.push_back({text_of(u, "Key"), text_of(u, "UploadId"), text_of(u, "Initiated")});
  }
  return page;
}

}  // namespace tb::s3::xml

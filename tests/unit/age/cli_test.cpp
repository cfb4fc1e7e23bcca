// Interoperability with the real `age` tool, both ways: what we write, age
// reads; what age writes (to a recipient, or to an identity file's key), we
// read; with one and with several recipients.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "age_test_util.hpp"

namespace tb::age {
namespace {

using test::load;
using test::random_data;
using test::save;
using test::TempDir;

constexpr std::size_t kChunk = 64 * 1024;
const std::vector<std::size_t> kSizes = {0, 1, kChunk, kChunk + 1, (1 << 20) + 123};

std::string write_identity(const TempDir& dir, const std::string& name,
                           const std::vector<Identity>& ids) {
  std::string text = "# written by a test\n";
  for (const auto& id : ids) text += to_string(id) + "\n";
  const std::string path = dir.file(name);
  save(path, text);
  ::chmod(path.c_str(), 0600);
  return path;
}

std::string decrypt_file(const std::vector<Identity>& ids, const std::string& path) {
  io::StringSink out;
  Decryptor dec(out, ids);
  test::write_in_pieces(dec, load(path), 50000);
  dec.finish();
  EXPECT_TRUE(out.finished());
  return out.str();
}

TEST(AgeCli, AgeDecryptsWhatWeEncrypt) {
  TempDir dir;
  Identity id = generate_identity();
  const std::string key = write_identity(dir, "key.txt", {id});
  for (std::size_t size : kSizes) {
    const std::string data = random_data(size, static_cast<unsigned>(size));
    save(dir.file("f.age"), test::encrypt({recipient_of(id)}, data, 7000));
    tb::test::run_command("age -d -i " + key + " -o " + dir.file("f") + " " + dir.file("f.age"));
    EXPECT_EQ(load(dir.file("f")), data) << "size " << size;
  }
}

TEST(AgeCli, WeDecryptWhatAgeEncryptsToARecipient) {
  TempDir dir;
  Identity id = generate_identity();
  for (std::size_t size : kSizes) {
    const std::string data = random_data(size, static_cast<unsigned>(size) + 1);
    save(dir.file("f"), data);
    tb::test::run_command("age -r " + to_string(recipient_of(id)) + " -o " + dir.file("f.age") +
                          " " + dir.file("f"));
    EXPECT_EQ(decrypt_file({id}, dir.file("f.age")), data) << "size " << size;
  }
}

TEST(AgeCli, ChunkCountersPastOneByteAgreeBothWays) {
  // 258 chunks: the counter's second byte is used from chunk 256 on.
  TempDir dir;
  Identity id = generate_identity();
  const std::string key = write_identity(dir, "key.txt", {id});
  // Cheap bytes that still differ from chunk to chunk (random ones cost seconds here).
  std::string data(257 * kChunk + 1, '\0');
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i / kChunk + i % 251);
  save(dir.file("ours.age"), test::encrypt({recipient_of(id)}, data, 1 << 20));
  tb::test::run_command("age -d -i " + key + " -o " + dir.file("ours") + " " +
                        dir.file("ours.age"));
  EXPECT_EQ(load(dir.file("ours")), data);
  save(dir.file("theirs"), data);
  tb::test::run_command("age -r " + to_string(recipient_of(id)) + " -o " + dir.file("theirs.age") +
                        " " + dir.file("theirs"));
  EXPECT_EQ(decrypt_file({id}, dir.file("theirs.age")), data);
}

TEST(AgeCli, WeDecryptWhatAgeEncryptsToAnAgeKeygenIdentityFile) {
  TempDir dir;
  tb::test::run_command("age-keygen -o " + dir.file("key.txt") + " 2>/dev/null");
  const std::string data = random_data(200000, 9);
  save(dir.file("f"), data);
  tb::test::run_command("age -e -i " + dir.file("key.txt") + " -o " + dir.file("f.age") + " " +
                        dir.file("f"));
  EXPECT_EQ(decrypt_file(load_identity_file(dir.file("key.txt")), dir.file("f.age")), data);
}

TEST(AgeCli, ServiceAndTenantEachDecryptWithTheirOwnKey) {
  TempDir dir;
  Identity service = generate_identity();
  Identity tenant = generate_identity();
  const std::string service_key = write_identity(dir, "service.txt", {service});
  const std::string tenant_key = write_identity(dir, "tenant.txt", {tenant});
  const std::string data = random_data(kChunk * 3 + 5, 4);
  save(dir.file("f.age"), test::encrypt({recipient_of(service), recipient_of(tenant)}, data));
  for (const auto& key : {service_key, tenant_key}) {
    tb::test::run_command("age -d -i " + key + " -o " + dir.file("f") + " " + dir.file("f.age"));
    EXPECT_EQ(load(dir.file("f")), data) << key;
  }
  const std::string stranger = write_identity(dir, "stranger.txt", {generate_identity()});
  EXPECT_THROW(tb::test::run_command("age -d -i " + stranger + " " + dir.file("f.age")),
               std::exception);

  // And the other way: age with two recipients, each of our identities reads it.
  save(dir.file("g"), data);
  tb::test::run_command("age -r " + to_string(recipient_of(service)) + " -r " +
                        to_string(recipient_of(tenant)) + " -o " + dir.file("g.age") + " " +
                        dir.file("g"));
  EXPECT_EQ(decrypt_file({service}, dir.file("g.age")), data);
  EXPECT_EQ(decrypt_file({tenant}, dir.file("g.age")), data);
}

TEST(AgeCli, RotatedIdentityFileStillReadsFilesForTheOldKey) {
  TempDir dir;
  Identity old_key = generate_identity();
  Identity new_key = generate_identity();
  const std::string data = random_data(1000, 5);
  save(dir.file("f"), data);
  tb::test::run_command("age -r " + to_string(recipient_of(old_key)) + " -o " + dir.file("f.age") +
                        " " + dir.file("f"));
  const std::string rotated = write_identity(dir, "rotated.txt", {new_key, old_key});
  auto ids = load_identity_file(rotated);
  io::StringSink out;
  Decryptor dec(out, ids);
  dec.write(io::as_bytes(load(dir.file("f.age"))));
  dec.finish();
  EXPECT_EQ(out.str(), data);
  EXPECT_EQ(dec.matched_identity(), 1u);
}

TEST(AgeCli, AgeRefusesATamperedFileOfOursToo) {
  // Cross-check of the damage tests: age agrees the flipped file is bad.
  TempDir dir;
  Identity id = generate_identity();
  const std::string key = write_identity(dir, "key.txt", {id});
  std::string file = test::encrypt({recipient_of(id)}, random_data(kChunk + 10, 6));
  file[test::payload_offset(file) + 100] ^= 0x01;
  save(dir.file("f.age"), file);
  EXPECT_THROW(tb::test::run_command("age -d -i " + key + " " + dir.file("f.age") + " >/dev/null"),
               std::exception);
}

}  // namespace
}  // namespace tb::age

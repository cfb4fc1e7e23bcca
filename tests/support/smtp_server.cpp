#include "support/smtp_server.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "support/pg_cluster.hpp"

namespace tb::test {
namespace fs = std::filesystem;

namespace {

// Messages are written as <n>.eml (raw bytes) and <n>.env (envelope), the .env
// last and by rename, so a reader never sees a half-written message.
constexpr const char* kScript = R"PY(
import asyncio, os, sys
from aiosmtpd.smtp import SMTP

out = sys.argv[1]
parent = os.getppid()

class Handler:
    def __init__(self):
        self.count = 0
    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        base = os.path.join(out, '%06d' % self.count)
        with open(base + '.eml', 'wb') as f:
            f.write(getattr(envelope, 'original_content', None) or envelope.content)
        with open(base + '.tmp', 'w') as f:
            f.write('\n'.join([envelope.mail_from] + list(envelope.rcpt_tos)))
        os.rename(base + '.tmp', base + '.env')
        return '250 OK'

async def main():
    loop = asyncio.get_running_loop()
    handler = Handler()
    server = await loop.create_server(lambda: SMTP(handler, hostname='tb-test-smtp'), '127.0.0.1', 0)
    port = server.sockets[0].getsockname()[1]
    with open(os.path.join(out, 'port.tmp'), 'w') as f:
        f.write(str(port))
    os.rename(os.path.join(out, 'port.tmp'), os.path.join(out, 'port'))
    while os.getppid() == parent:  # exit with the test process
        await asyncio.sleep(0.2)

asyncio.run(main())
)PY";

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

SmtpServer::~SmtpServer() {
  stop();
  if (!dir_.empty()) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
}

void SmtpServer::start() {
  if (process_) return;
  dir_ = make_temp_dir("tb-smtp");
  fs::create_directory(dir_ + "/mail");
  { std::ofstream(dir_ + "/server.py") << kScript; }
  std::string mail = dir_ + "/mail";
  process_ = std::make_unique<ChildProcess>(
      std::vector<std::string>{"/usr/bin/python3", dir_ + "/server.py", mail},
      std::map<std::string, std::string>{}, dir_ + "/server.log");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!fs::exists(mail + "/port")) {
    if (!process_->running()) {
      auto log = process_->output();
      process_.reset();
      throw std::runtime_error("the SMTP test server exited: " + log);
    }
    if (std::chrono::steady_clock::now() > deadline) {
      auto log = process_->output();
      process_.reset();
      throw std::runtime_error("the SMTP test server did not start: " + log);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  port_ = std::stoi(slurp(mail + "/port"));
}

void SmtpServer::stop() {
  process_.reset();
}

std::vector<ReceivedEmail> SmtpServer::wait_for_emails(std::size_t n,
                                                       std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  const fs::path mail = dir_ + "/mail";
  for (;;) {
    std::vector<fs::path> envs;
    for (const auto& e : fs::directory_iterator(mail)) {
      if (e.path().extension() == ".env") envs.push_back(e.path());
    }
    if (envs.size() >= n) {
      std::sort(envs.begin(), envs.end());
      std::vector<ReceivedEmail> out;
      for (const auto& env : envs) {
        ReceivedEmail m;
        std::istringstream lines(slurp(env));
        std::getline(lines, m.mail_from);
        for (std::string line; std::getline(lines, line);) m.rcpt_to.push_back(line);
        fs::path eml = env;
        m.raw = slurp(eml.replace_extension(".eml"));
        out.push_back(std::move(m));
      }
      return out;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      throw std::runtime_error("expected " + std::to_string(n) +
                               " e-mail(s), the SMTP test server got " +
                               std::to_string(envs.size()));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

std::vector<std::string> SmtpServer::wait_for_messages(std::size_t n,
                                                       std::chrono::milliseconds timeout) {
  std::vector<std::string> out;
  for (auto& m : wait_for_emails(n, timeout)) out.push_back(std::move(m.raw));
  return out;
}

}  // namespace tb::test

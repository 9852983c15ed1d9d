// A program outside the tree, built against an installed Sluice: it must compile with
// only the installed headers and link with only the installed libraries. It uses the C++
// API (Status, Client::Open, a generated message) and the C API, without a service.

#include <cstdio>
#include <string>

#include "sluice/client.h"
#include "sluice/sluice.h"
#include "sluice/status.h"

int main() {
  // No address: Open refuses with a Status naming what is missing.
  sluice::client::ClientOptions options;
  sluice::Result<std::unique_ptr<sluice::client::Client>> client =
      sluice::client::Client::Open(options);
  if (client.ok() || client.status().code() != sluice::Code::kInvalidArgument) {
    std::printf("consumer: Client::Open without addresses: %s\n",
                client.ok() ? "ok" : client.status().ToString().c_str());
    return 1;
  }
  // A generated message type of the API.
  sluice::v1::Record record;
  record.mutable_samples()->add_point_id(7);
  if (record.ByteSizeLong() == 0) return 1;
  // The C API, linked from the same archives.
  sluice_client* h = sluice_open("", nullptr, nullptr, nullptr);
  if (h != nullptr) {
    sluice_close(h);
    std::printf("consumer: sluice_open(\"\") succeeded\n");
    return 1;
  }
  std::printf("consumer: ok (%s; C API: %s)\n", client.status().ToString().c_str(),
              sluice_last_error(nullptr));
  return 0;
}

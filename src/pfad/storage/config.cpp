// StorageConfig's settings table: defaults <- [storage] <- the AWS environment.
#include "pfad/storage/object_store.h"

namespace pfad::storage {

const SettingsTable<StorageConfig>& StorageConfig::Settings() {
  using C = StorageConfig;
  static const SettingsTable<C> table({
      {"storage.endpoint",
       &C::endpoint,
       {.env = {"PFAD_S3_ENDPOINT", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"},
        .description = "S3 endpoint (e.g. http://127.0.0.1:9000); empty = AWS"}},
      {"storage.region",
       &C::region,
       {.env = {"AWS_REGION", "AWS_DEFAULT_REGION"}, .description = "S3 region; empty = us-east-1"}},
      {"storage.access_key",
       &C::access_key,
       {.env = {"AWS_ACCESS_KEY_ID"},
        .description = "S3 access key; empty = the default AWS credential chain"}},
      {"storage.secret_key",
       &C::secret_key,
       {.env = {"AWS_SECRET_ACCESS_KEY"}, .description = "S3 secret key", .secret = true}},
      {"storage.session_token",
       &C::session_token,
       {.env = {"AWS_SESSION_TOKEN"},
        .description = "S3 session token (environment only)",
        .secret = true,
        .in_file = false}},
      {"storage.connect_timeout_s",
       &C::connect_timeout_s,
       {.unit = "s", .description = "how long to wait for a connection"}},
      {"storage.request_timeout_s", &C::request_timeout_s, {.unit = "s", .description = "one request"}},
      {"storage.max_attempts",
       &C::max_attempts,
       {.description = "attempts of a request that can be retried"}},
  });
  return table;
}

StorageConfig StorageConfig::FromEnvironment(StorageConfig base) {
  // Every row is text: reading the environment cannot fail.
  return Settings().ApplyEnvironment(std::move(base)).ValueOrDie();
}

Result<StorageConfig> StorageConfig::Resolve(const ConfigFile& file) { return Settings().Resolve(file); }

}  // namespace pfad::storage

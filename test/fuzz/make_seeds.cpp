// Writes the seed corpora of the fuzz targets from the emulator's real answers: every FAS
// and Bodhi (1 and 2) operation is run once through the real clients against the
// in-process emulator, and each answer the emulator's applications produced is recorded.
//
//   make-seeds OUTDIR   ->  OUTDIR/http/*, OUTDIR/fas/*, OUTDIR/bodhi/*
//
// (meson: `ninja -C build fuzz-seeds` writes build/test/fuzz/seeds.) Seeds follow the
// targets' input formats (see fuzz_support.hpp and http_response_fuzz.cpp).
#include "fuzz_support.hpp"

#include <fedora/bodhi/client.hpp>
#include <fedora/emulator/bodhi.hpp>
#include <fedora/emulator/fas.hpp>
#include <fedora/emulator/server.hpp>
#include <fedora/fas/proxy_client.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/beast/http/write.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>

namespace {

namespace emu = fedora::emulator;
namespace fas = fedora::fas;
namespace bodhi = fedora::bodhi;
namespace fs = std::filesystem;

// Passes requests to the real application and keeps what it answered, serialised as the
// server sends it.
class recorder final : public emu::application
{
public:
    explicit recorder(std::shared_ptr<emu::application> inner) : inner_(std::move(inner)) {}

    emu::http_response handle(const emu::http_request& req, const emu::request_context& ctx) override
    {
        auto res = inner_->handle(req, ctx);
        std::ostringstream os;
        os << res;
        std::lock_guard lock(mutex_);
        last_ = os.str();
        all_.insert(*last_);
        return res;
    }

    std::optional<std::string> take_last()
    {
        std::lock_guard lock(mutex_);
        auto l = std::move(last_);
        last_.reset();
        return l;
    }
    std::set<std::string> all() const
    {
        std::lock_guard lock(mutex_);
        return all_;
    }

private:
    std::shared_ptr<emu::application> inner_;
    mutable std::mutex mutex_;
    std::optional<std::string> last_;
    std::set<std::string> all_;
};

void write_seed(const fs::path& dir, const std::string& name, std::uint8_t selector, const std::string& answer)
{
    std::ofstream out(dir / name, std::ios::binary);
    out.put(static_cast<char>(selector));
    out << answer;
}

template <class Run>
void await(boost::asio::io_context& ioc, Run run)
{
    run();
    ioc.restart();
    ioc.run();
}

std::size_t fas_seeds(const fs::path& dir, std::set<std::string>& answers)
{
    emu::fas_data_params dp;
    dp.people = 20;
    auto app = std::make_shared<recorder>(std::make_shared<emu::fas_application>(emu::fas_directory::generate(dp)));
    emu::server server;
    server.mount("/accounts", app);
    server.start();
    boost::asio::io_context ioc;
    fas::client_params params;
    params.base_url = server.origin() + "/accounts/";
    fas::proxy_client proxy(ioc.get_executor(), params);

    std::size_t written = 0;
    auto table = fuzz_support::fas_operations();
    for (std::size_t i = 0; i < fuzz_support::fas_count; ++i) {
        fuzz_support::visit_at(table, i, [&](const auto& op) {
            using Op = std::decay_t<decltype(op)>;
            // Success and failure answers: as the owner, as another user, and anonymous.
            const fas::auth_params who[] = {
                std::is_same_v<Op, fas::ops::create_group> ? fas::auth_params::credentials("sysadm", "sysadm-pass")
                                                          : fas::auth_params::credentials("admin", "admin"),
                fas::auth_params::credentials("jdoe", "jdoe-pass"),
                fas::auth_params::credentials("jdoe", "wrong"),
            };
            for (std::size_t w = 0; w < std::size(who); ++w) {
                await(ioc, [&] { proxy.async_run(op, who[w], [](auto&&...) {}); });
                if (auto a = app->take_last()) {
                    write_seed(dir, "op" + std::to_string(i) + "-" + std::to_string(w), static_cast<std::uint8_t>(i), *a);
                    ++written;
                }
            }
        });
    }
    // Answers to unknown names: the "not found" shapes.
    await(ioc, [&] {
        proxy.async_run(fas::ops::person_by_username{.username = "no-such-user"},
                        fas::auth_params::credentials("admin", "admin"), [](auto&&...) {});
    });
    if (auto a = app->take_last())
        write_seed(dir, "missing-person", 9, *a), ++written;
    await(ioc, [&] {
        proxy.async_run(fas::ops::group_by_name{.groupname = "nosuchgroup"},
                        fas::auth_params::credentials("admin", "admin"), [](auto&&...) {});
    });
    if (auto a = app->take_last())
        write_seed(dir, "missing-group", 11, *a), ++written;
    for (auto& a : app->all())
        answers.insert(a);
    server.stop();
    return written;
}

std::size_t bodhi_seeds(const fs::path& dir, std::set<std::string>& answers)
{
    emu::bodhi_data_params dp;
    dp.updates = 20;
    dp.start_time = 1442318400;
    auto data = std::make_shared<emu::bodhi_data>(dp);
    auto b1 = std::make_shared<recorder>(std::make_shared<emu::bodhi1_application>(data));
    auto b2_app = std::make_shared<emu::bodhi2_application>(data);
    auto b2 = std::make_shared<recorder>(b2_app);
    emu::server server;
    server.mount("/updates", b1);
    server.mount("/bodhi", b2);
    server.start();
    emu::server provider;
    provider.mount("/id", std::make_shared<emu::openid_provider_application>(data));
    provider.start();
    b2_app->set_openid_endpoint(provider.origin() + "/id/openid/");

    std::size_t written = 0;
    for (auto v : {bodhi::server_version::bodhi1, bodhi::server_version::bodhi2}) {
        const bool one = v == bodhi::server_version::bodhi1;
        auto& app = one ? b1 : b2;
        boost::asio::io_context ioc;
        bodhi::client_params p;
        p.base_url = server.origin() + (one ? "/updates/" : "/bodhi/");
        p.openid_api_url = provider.origin() + "/id/api/v1/";
        p.version = v;
        bodhi::client client(ioc.get_executor(), p);

        // An update and an override of alice's own, so that the operations on them succeed.
        bodhi::update_fields fields;
        fields.builds = {"foo-1.0-1.fc22"};
        fields.notes = "seed";
        const auto alice = bodhi::auth_params::credentials("alice", "alice-pass");
        std::string key = "foo-1.0-1.fc22";
        await(ioc, [&] {
            client.async_save_update(fields, alice, [&](fedora::error_code ec, bodhi::reply<bodhi::save_result> r) {
                if (!ec && !r.value.updates.empty())
                    key = r.value.updates[0].key;
            });
        });
        app->take_last();

        auto table = fuzz_support::bodhi_operations();
        for (std::size_t i = 0; i < fuzz_support::bodhi_count; ++i) {
            fuzz_support::visit_at(table, i, [&](auto op) {
                using Op = decltype(op);
                if constexpr (requires { op.key; })
                    op.key = key;
                if constexpr (std::is_same_v<Op, bodhi::ops::comment>)
                    op.fields.update = key;
                if constexpr (std::is_same_v<Op, bodhi::ops::save_update>)
                    op.fields.builds = {"bar-1.0-1.fc22"};
                const bodhi::auth_params who[] = {alice, bodhi::auth_params::credentials("bob", "bob-pass"),
                                                  bodhi::auth_params::anonymous()};
                for (std::size_t w = 0; w < std::size(who); ++w) {
                    await(ioc, [&] { client.async_run(op, who[w], [](auto&&...) {}); });
                    if (auto a = app->take_last()) {
                        const auto selector = static_cast<std::uint8_t>((i << 1) | (one ? 1 : 0));
                        write_seed(dir, std::string(one ? "b1" : "b2") + "-op" + std::to_string(i) + "-" +
                                            std::to_string(w),
                                   selector, *a);
                        ++written;
                    }
                }
            });
        }
        for (auto& a : app->all())
            answers.insert(a);
    }
    provider.stop();
    server.stop();
    return written;
}

} // namespace

int main(int argc, char** argv)
{
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
        return 2;
    }
    const fs::path out = argv[1];
    for (auto sub : {"http", "fas", "bodhi"})
        fs::create_directories(out / sub);
    std::set<std::string> answers;
    const auto nf = fas_seeds(out / "fas", answers);
    const auto nb = bodhi_seeds(out / "bodhi", answers);
    // The transport target gets every distinct answer, whole, with default options, plus
    // the same answers delivered in 7-byte pieces.
    std::size_t nh = 0;
    for (const auto& a : answers) {
        if (a.size() > 64 * 1024)
            continue;
        write_seed(out / "http", "answer" + std::to_string(nh), 0, a);
        if (nh % 4 == 0)
            write_seed(out / "http", "answer" + std::to_string(nh) + "-pieces", 2 << 3, a);
        ++nh;
    }
    std::printf("seeds: %zu fas, %zu bodhi, %zu http in %s\n", nf, nb, nh, out.c_str());
    return nf > 0 && nb > 0 && nh > 0 ? 0 : 1;
}

// curl-multi-bench: libcurl's multi interface, the way its own multi examples drive it: C
// easy handles (one transfer each at a time) on one multi handle, curl_multi_poll in one
// thread, connections kept alive in the multi handle's cache. Each body is parsed with
// boost::json::parse.
//
//   curl-multi-bench --url URL --connections C --requests N [--insecure|--ca-file F]
//                    [--method GET|POST] [--body TEXT] [--header 'N: V']...
// Output: see common.hpp.
#include "common.hpp"

#include <boost/json/parse.hpp>

#include <curl/curl.h>

#include <memory>
#include <string>
#include <vector>

namespace {

struct transfer
{
    CURL* easy = nullptr;
    std::string body;
};

std::size_t on_data(char* data, std::size_t size, std::size_t n, void* user)
{
    static_cast<transfer*>(user)->body.append(data, size * n);
    return size * n;
}

} // namespace

int main(int argc, char** argv)
{
    auto opt = bench::parse(argc, argv);
    curl_global_init(CURL_GLOBAL_DEFAULT);

    curl_slist* headers = nullptr;
    for (auto& [name, value] : opt.headers)
        headers = curl_slist_append(headers, (name + ": " + value).c_str());
    if (!opt.body.empty())
        headers = curl_slist_append(headers, "Content-Type: application/x-www-form-urlencoded");

    CURLM* multi = curl_multi_init();
    curl_multi_setopt(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, long(opt.connections));
    curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, long(opt.connections));

    std::vector<transfer> transfers(opt.connections);
    for (auto& t : transfers) {
        t.easy = curl_easy_init();
        curl_easy_setopt(t.easy, CURLOPT_URL, opt.url.c_str());
        curl_easy_setopt(t.easy, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(t.easy, CURLOPT_WRITEDATA, &t);
        curl_easy_setopt(t.easy, CURLOPT_PRIVATE, &t);
        curl_easy_setopt(t.easy, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(t.easy, CURLOPT_USERAGENT, "curl-multi-bench");
        if (opt.method == "POST") {
            curl_easy_setopt(t.easy, CURLOPT_POSTFIELDS, opt.body.c_str());
            curl_easy_setopt(t.easy, CURLOPT_POSTFIELDSIZE, long(opt.body.size()));
        }
        if (opt.insecure) {
            curl_easy_setopt(t.easy, CURLOPT_SSL_VERIFYPEER, 0L);
            curl_easy_setopt(t.easy, CURLOPT_SSL_VERIFYHOST, 0L);
        }
        if (!opt.ca_file.empty())
            curl_easy_setopt(t.easy, CURLOPT_CAINFO, opt.ca_file.c_str());
    }

    std::size_t errors = 0;
    std::uint64_t bytes = 0;
    // Runs `total` requests over the transfers; returns when all are done.
    auto run = [&](std::size_t total) {
        std::size_t started = 0;
        for (auto& t : transfers) {
            if (started == total)
                break;
            t.body.clear();
            curl_multi_add_handle(multi, t.easy);
            ++started;
        }
        int running = 1;
        while (running) {
            if (CURLMcode mc = curl_multi_perform(multi, &running); mc != CURLM_OK) {
                bench::note_error(errors, curl_multi_strerror(mc));
                break;
            }
            int queued = 0;
            while (CURLMsg* msg = curl_multi_info_read(multi, &queued)) {
                if (msg->msg != CURLMSG_DONE)
                    continue;
                transfer* t = nullptr;
                curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &t);
                if (msg->data.result != CURLE_OK) {
                    bench::note_error(errors, curl_easy_strerror(msg->data.result));
                } else {
                    long status = 0;
                    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
                    bytes += t->body.size();
                    boost::system::error_code ec;
                    auto jv = boost::json::parse(t->body, ec);
                    if (status != 200)
                        bench::note_error(errors, "HTTP status " + std::to_string(status));
                    else if (ec)
                        bench::note_error(errors, "body is not JSON: " + ec.message());
                }
                curl_multi_remove_handle(multi, t->easy);
                if (started < total) {
                    t->body.clear();
                    curl_multi_add_handle(multi, t->easy);
                    ++started;
                    running = 1;
                }
            }
            if (running)
                curl_multi_poll(multi, nullptr, 0, 1000, nullptr);
        }
    };

    run(std::max(opt.warmup, opt.connections));
    errors = 0;
    bytes = 0;
    bench::meter m;
    m.start();
    run(opt.requests);
    m.stop();
    bench::report("curl-multi", opt, m, opt.requests, errors, bytes);

    for (auto& t : transfers) {
        curl_easy_cleanup(t.easy);
    }
    curl_multi_cleanup(multi);
    curl_slist_free_all(headers);
    curl_global_cleanup();
    return errors ? 1 : 0;
}

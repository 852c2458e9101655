// SDSL side of bench_fm.py: infini-gram mini's index structure,
// csa_wt<wt_huff<rrr_vector<127>>, SA, ISA>, built and queried with the same files and output
// as anygram's fm_bench. Compiled by bench_fm.py (g++ -O3, libsdsl-dev from Debian).
//
//   sdsl_bench build  SA ISA TEXT INDEX   -> JSON: seconds, bytes, components
//   sdsl_bench count  SA ISA INDEX QUERIES
//   sdsl_bench extract SA ISA INDEX RANGES
//   sdsl_bench locate SA ISA INDEX QUERIES MAX
#include <sdsl/suffix_arrays.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

using namespace sdsl;
using clk = std::chrono::steady_clock;

static std::vector<std::string> patterns(const char* path) {
    std::ifstream in(path, std::ios::binary);
    std::vector<std::string> out;
    uint32_t n;
    while (in.read(reinterpret_cast<char*>(&n), 4)) {
        std::string s(n, '\0');
        in.read(&s[0], n);
        out.push_back(s);
    }
    return out;
}

static void print_ns(const std::vector<uint64_t>& ns, const char* key, const std::vector<uint64_t>& v) {
    std::printf("{\"ns\": [");
    for (size_t i = 0; i < ns.size(); i++) std::printf(i ? ",%lu" : "%lu", ns[i]);
    std::printf("], \"%s\": [", key);
    for (size_t i = 0; i < v.size(); i++) std::printf(i ? ",%lu" : "%lu", v[i]);
    std::printf("]}\n");
}

template <uint32_t SA, uint32_t ISA>
int run(int argc, char** argv) {
    typedef csa_wt<wt_huff<rrr_vector<127>>, SA, ISA> csa_t;
    std::string cmd = argv[1];
    csa_t csa;
    if (cmd == "build") {
        auto t0 = clk::now();
        construct(csa, argv[4], 1);
        double secs = std::chrono::duration<double>(clk::now() - t0).count();
        store_to_file(csa, argv[5]);
        std::printf("{\"seconds\": %f, \"bytes\": %lu, \"components\": {\"wavelet_tree\": %lu, \"sa_samples\": %lu, \"isa_samples\": %lu}}\n",
                    secs, size_in_bytes(csa), size_in_bytes(csa.wavelet_tree), size_in_bytes(csa.sa_sample),
                    size_in_bytes(csa.isa_sample));
        return 0;
    }
    load_from_file(csa, argv[4]);
    std::vector<uint64_t> ns, out;
    if (cmd == "count") {
        for (auto& q : patterns(argv[5])) {
            auto t0 = clk::now();
            uint64_t c = count(csa, q.begin(), q.end());
            ns.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(clk::now() - t0).count());
            out.push_back(c);
        }
        print_ns(ns, "counts", out);
    } else if (cmd == "extract") {
        std::ifstream in(argv[5], std::ios::binary);
        uint64_t r[2];
        uint64_t checksum = 0;
        while (in.read(reinterpret_cast<char*>(r), 16)) {
            auto t0 = clk::now();
            auto s = extract(csa, r[0], r[0] + r[1] - 1);
            ns.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(clk::now() - t0).count());
            for (unsigned char c : s) checksum = checksum * 31 + c;
        }
        out.push_back(checksum);
        print_ns(ns, "checksum", out);
    } else if (cmd == "locate") {
        uint64_t max = std::stoull(argv[6]);
        uint64_t checksum = 0;
        for (auto& q : patterns(argv[5])) {
            auto t0 = clk::now();
            uint64_t lb = 0, rb = 0;
            uint64_t c = backward_search(csa, 0, csa.size() - 1, q.begin(), q.end(), lb, rb);
            uint64_t sum = 0;
            for (uint64_t i = 0; i < c && i < max; i++) sum += csa[lb + i];
            ns.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(clk::now() - t0).count());
            checksum += sum;
        }
        out.push_back(checksum);
        print_ns(ns, "checksum", out);
    }
    return 0;
}

int main(int argc, char** argv) {
    uint32_t sa = std::stoul(argv[2]), isa = std::stoul(argv[3]);
    if (sa == 16 && isa == 32) return run<16, 32>(argc, argv);
    if (sa == 32 && isa == 64) return run<32, 64>(argc, argv);
    if (sa == 64 && isa == 128) return run<64, 128>(argc, argv);
    std::fprintf(stderr, "unsupported sample rates %u/%u\n", sa, isa);
    return 2;
}

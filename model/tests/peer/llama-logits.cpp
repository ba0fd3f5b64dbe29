// llama-logits: runs llama.cpp on a GGUF file and prints what our engine is compared
// with: the prompt's tokens, the logits after every prompt position, greedy tokens.
//
//   llama-logits -m MODEL [-t THREADS] [-c CTX] (--tokens 1,2,3 | --text-file FILE)
//                [--bos] [--logits | --last-logits] [--step-logits] [--steps N]
//
// --text-file tokenizes the file's bytes with llama_tokenize (the vocabulary's BOS and
// other automatic specials only with --bos; special-token text is not parsed); --tokens
// takes the ids as given (--bos adds nothing to them). The prompt is evaluated in one
// batch, one sequence, on the CPU, without flash attention; decoding is greedy (the
// lowest id on ties) and never stops at EOS.
//
// Output lines: `tokens: ...` (with --text-file), `logits POS v0 v1 ...` per prompt
// position (with --logits; the last position only with --last-logits), `step S v0 v1
// ...` for S = 0..N-1, the logits greedy token S was picked from (with --step-logits;
// step 0's are the last prompt position's), `greedy: t1 ... tN` (N = --steps). Errors
// go to stderr with exit status 1; llama.cpp's own logging only with
// LLAMA_LOGITS_VERBOSE=1.
#include "llama.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

static void quiet(enum ggml_log_level, const char *, void *) {}

static int fail(const std::string & why) {
    fprintf(stderr, "llama-logits: %s\n", why.c_str());
    return 1;
}

// A whole decimal number in [lo, hi], or false.
static bool parse_int(const std::string & s, long lo, long hi, long & out) {
    if (s.empty()) return false;
    errno = 0;
    char * end = nullptr;
    long v = strtol(s.c_str(), &end, 10);
    if (errno != 0 || *end != '\0' || v < lo || v > hi) return false;
    out = v;
    return true;
}

static llama_token argmax(const float * logits, int n) {
    int best = 0;
    for (int i = 1; i < n; i++) {
        if (logits[i] > logits[best]) best = i;
    }
    return best;
}

static void print_row(const char * label, long index, const float * row, int n) {
    printf("%s %ld", label, index);
    for (int v = 0; v < n; v++) printf(" %.9g", row[v]);
    printf("\n");
}

int main(int argc, char ** argv) {
    const char * usage =
        "usage: llama-logits -m MODEL [-t THREADS] [-c CTX] (--tokens 1,2,3 | --text-file FILE) "
        "[--bos] [--logits | --last-logits] [--step-logits] [--steps N]";
    std::string model_path, tokens_arg, text_file;
    long threads = 2, ctx = 512, steps = 0;
    bool have_tokens = false, bos = false, want_logits = false, last_logits = false, step_logits = false;
    for (int i = 1; i < argc; i++) {
        std::string a = argv[i];
        bool takes_value = a == "-m" || a == "-t" || a == "-c" || a == "--tokens" || a == "--text-file" ||
                           a == "--steps";
        std::string value;
        if (takes_value) {
            if (i + 1 >= argc) return fail(a + " needs a value\n" + usage);
            value = argv[++i];
        }
        if (a == "-m") model_path = value;
        else if (a == "-t") { if (!parse_int(value, 1, 1024, threads)) return fail("bad -t " + value); }
        else if (a == "-c") { if (!parse_int(value, 1, 1 << 24, ctx)) return fail("bad -c " + value); }
        else if (a == "--tokens") { tokens_arg = value; have_tokens = true; }
        else if (a == "--text-file") text_file = value;
        else if (a == "--bos") bos = true;
        else if (a == "--logits") want_logits = true;
        else if (a == "--last-logits") last_logits = true;
        else if (a == "--step-logits") step_logits = true;
        else if (a == "--steps") { if (!parse_int(value, 0, 1 << 24, steps)) return fail("bad --steps " + value); }
        else return fail("unknown argument " + a + "\n" + usage);
    }
    if (model_path.empty() || have_tokens == !text_file.empty()) return fail(usage);

    const char * verbose = getenv("LLAMA_LOGITS_VERBOSE");
    if (!verbose || strcmp(verbose, "1") != 0) llama_log_set(quiet, nullptr);
    llama_backend_init();

    // Read the text before loading the model: a missing file fails fast.
    std::string text;
    if (!text_file.empty()) {
        std::ifstream in(text_file, std::ios::binary);
        if (!in) return fail("cannot read " + text_file);
        std::stringstream buf;
        buf << in.rdbuf();
        text = buf.str();
    }

    llama_model_params mp = llama_model_default_params();
    mp.n_gpu_layers = 0;
    llama_model * model = llama_model_load_from_file(model_path.c_str(), mp);
    if (!model) return fail("cannot load " + model_path);
    const llama_vocab * vocab = llama_model_get_vocab(model);
    const int n_vocab = llama_vocab_n_tokens(vocab);

    std::vector<llama_token> prompt;
    if (!text_file.empty()) {
        std::vector<llama_token> ids(text.size() + 16);
        int n = llama_tokenize(vocab, text.data(), (int) text.size(), ids.data(), (int) ids.size(), bos, false);
        if (n < 0) {  // the buffer was short: -n is the count needed
            ids.resize(-n);
            n = llama_tokenize(vocab, text.data(), (int) text.size(), ids.data(), (int) ids.size(), bos, false);
        }
        if (n < 0) return fail("tokenization failed");
        ids.resize(n);
        prompt = ids;
        printf("tokens:");
        for (auto t : prompt) printf(" %d", t);
        printf("\n");
    } else {
        std::stringstream list(tokens_arg);
        std::string item;
        while (std::getline(list, item, ',')) {
            long id;
            if (!parse_int(item, 0, n_vocab - 1, id)) {
                return fail("bad token id '" + item + "' (the vocabulary has " + std::to_string(n_vocab) + ")");
            }
            prompt.push_back((llama_token) id);
        }
    }
    if (prompt.empty()) return fail("an empty prompt");
    // The last greedy token is printed, never fed back.
    const long needed = (long) prompt.size() + (steps > 0 ? steps - 1 : 0);
    if (needed > ctx) {
        return fail("the prompt (" + std::to_string(prompt.size()) + ") and " + std::to_string(steps) +
                    " steps need a context of " + std::to_string(needed) + " (-c " + std::to_string(ctx) + ")");
    }

    llama_context_params cp = llama_context_default_params();
    cp.n_ctx = (uint32_t) ctx;
    cp.n_batch = (uint32_t) ctx;   // the whole prompt in one batch...
    cp.n_ubatch = (uint32_t) ctx;  // ...and one graph
    cp.n_seq_max = 1;
    cp.n_threads = (int32_t) threads;
    cp.n_threads_batch = (int32_t) threads;
    cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
    cp.swa_full = true;  // sliding-window layers keep every position (nothing is pruned)
    cp.no_perf = true;
    llama_context * lctx = llama_init_from_model(model, cp);
    if (!lctx) return fail("cannot create a context");

    llama_batch batch = llama_batch_init((int) prompt.size(), 0, 1);
    for (size_t i = 0; i < prompt.size(); i++) {
        batch.token[i] = prompt[i];
        batch.pos[i] = (llama_pos) i;
        batch.n_seq_id[i] = 1;
        batch.seq_id[i][0] = 0;
        batch.logits[i] = want_logits || i + 1 == prompt.size();
    }
    batch.n_tokens = (int) prompt.size();
    if (llama_decode(lctx, batch) != 0) return fail("the prompt's evaluation failed");
    if (want_logits || last_logits) {
        for (size_t i = want_logits ? 0 : prompt.size() - 1; i < prompt.size(); i++) {
            const float * row = llama_get_logits_ith(lctx, (int) i);
            if (!row) return fail("no logits for position " + std::to_string(i));
            print_row("logits", (long) i, row, n_vocab);
        }
    }
    llama_batch_free(batch);

    std::vector<llama_token> greedy;
    for (long s = 0; s < steps; s++) {
        if (s > 0) {
            // One token at the next position of sequence 0 (llama.cpp tracks the position).
            llama_token last = greedy.back();
            if (llama_decode(lctx, llama_batch_get_one(&last, 1)) != 0) return fail("a decode step failed");
        }
        const float * row = llama_get_logits_ith(lctx, -1);
        if (!row) return fail("no logits at step " + std::to_string(s));
        if (step_logits) print_row("step", s, row, n_vocab);
        greedy.push_back(argmax(row, n_vocab));
    }
    printf("greedy:");
    for (auto t : greedy) printf(" %d", t);
    printf("\n");
    llama_free(lctx);
    llama_model_free(model);
    llama_backend_free();
    return fflush(stdout) == 0 ? 0 : fail("cannot write the output");
}

// The kernels, each op's forward beside its backward. Activations stay in whatever
// layout oneDNN picks (format_tag::any); parameters and gradients of parameters are
// always plain (PyTorch's layout), so optimizers and safetensors see them as they are.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <stdexcept>

#include "core.h"
#include "maxpool.h"

namespace gn {

using dnnl::algorithm;
using dnnl::prop_kind;
using dt = memory::data_type;
using tag = memory::format_tag;

namespace {

memory::desc anyDesc(const dims &d, dt type = dt::f32) { return memory::desc(d, type, tag::any); }

void require(bool ok, const std::string &msg) {
  if (!ok) throw std::invalid_argument(msg);
}

std::string key(std::initializer_list<std::string> parts) {
  std::string k;
  for (auto &p : parts) k += p + "#";
  return k;
}

std::string num(double v) { return std::to_string(v); }

Napi::Array pair(Napi::Env env, const TensorPtr &a, const TensorPtr &b) {
  auto arr = Napi::Array::New(env, 2);
  arr.Set(0u, a ? wrap(env, a) : env.Null());
  arr.Set(1u, b ? wrap(env, b) : env.Null());
  return arr;
}

// ---- convolution ------------------------------------------------------------------

struct ConvGeom {
  dims x, w, y, stride, padL, padR;
  bool bias;
  dt act;  // activation (and weight) type of the computation: f32, or bf16 for mixed precision
  algorithm alg;  // as asked: convolution_direct or convolution_winograd (see withFallback)
  std::string k;
};

// The geometry of a convolution of input dims x and weight dims w computing in `act`: stride, padding
// and algorithm from the attributes, checked, with the output dims and right padding (PyTorch's floor size).
ConvGeom convGeom(const dims &x, const dims &w, bool bias, dt act, const Attrs &a, const char *op) {
  ConvGeom g;
  g.act = act;
  std::string alg = a.oneOf("algorithm", {"direct", "winograd"});
  g.alg = alg == "winograd" ? algorithm::convolution_winograd : algorithm::convolution_direct;
  g.x = x;
  g.w = w;
  g.bias = bias;
  g.stride = a.pair("stride");
  g.padL = a.pair("padding");
  require(g.x.size() == 4, std::string(op) + ": input must be NCHW, got " + dimsStr(g.x));
  require(g.w.size() == 4, std::string(op) + ": weight must be [out,in,kh,kw], got " + dimsStr(g.w));
  require(g.x[1] == g.w[1], std::string(op) + ": input " + dimsStr(g.x) + " has " + std::to_string(g.x[1]) +
                                " channels but weight " + dimsStr(g.w) + " expects " + std::to_string(g.w[1]));
  require(g.stride[0] > 0 && g.stride[1] > 0, std::string(op) + ": stride must be positive");
  g.y = {g.x[0], g.w[0], 0, 0};
  for (int i = 0; i < 2; i++) {
    int64_t span = g.x[2 + i] + 2 * g.padL[i] - g.w[2 + i];
    require(span >= 0, std::string(op) + ": kernel " + dimsStr(g.w) + " larger than padded input " + dimsStr(g.x));
    g.y[2 + i] = span / g.stride[i] + 1;
    g.padR.push_back((g.y[2 + i] - 1) * g.stride[i] + g.w[2 + i] - g.x[2 + i] - g.padL[i]);
  }
  g.k = key({dimsStr(g.x), dimsStr(g.w), dimsStr(g.stride), dimsStr(g.padL), bias ? "b" : "nb", act == dt::bf16 ? "bf16" : "f32", alg});
  return g;
}

// The three convolution passes' geometry: f32, or bf16 mixed precision by the bf16 attribute.
ConvGeom convGeom(const TensorPtr &x, const dims &w, bool bias, const Attrs &a, const char *op) {
  return convGeom(x->md.dims(), w, bias, a.boolean("bf16") ? dt::bf16 : dt::f32, a, op);
}

// make(alg) with the algorithm asked for; where that is Winograd and oneDNN has no Winograd
// implementation for this shape, pass, type or CPU (it has them for avx512_core only), make(direct).
// The choice depends only on oneDNN's version, the CPU's ISA and the shape, so a machine makes it
// the same way every time (and an exact resume on it computes the same bits).
template <class Make>
auto withFallback(algorithm alg, const Make &make) -> decltype(make(alg)) {
  if (alg == algorithm::convolution_winograd) {
    try {
      return make(alg);
    } catch (const dnnl::error &e) {
      if (e.status != dnnl_unimplemented) throw;
    }
  }
  return make(algorithm::convolution_direct);
}

dnnl::convolution_forward::primitive_desc convFwdPd(const ConvGeom &g, prop_kind prop, algorithm alg) {
  auto b = g.bias ? memory::desc({g.w[0]}, dt::f32, tag::a) : memory::desc();
  dnnl::convolution_forward::desc d(prop, alg, anyDesc(g.x, g.act), anyDesc(g.w, g.act), b,
                                    anyDesc(g.y, g.act), g.stride, g.padL, g.padR);
  return dnnl::convolution_forward::primitive_desc(d, engine());
}

Napi::Value ConvForward(const Napi::CallbackInfo &info) {
  return guarded(info, "conv2d forward", [&]() -> Napi::Value {
    Attrs a(info, "convForward", 3, {"stride", "padding", "bf16", "algorithm", "training"});
    auto x = unwrap(info[0], "conv2d", "input");
    auto w = unwrap(info[1], "conv2d", "weight");
    auto b = unwrapOptional(info[2], "conv2d", "bias");
    auto g = convGeom(x, w->md.dims(), (bool)b, a, "conv2d");
    bool training = a.boolean("training");
    if (b) require(b->numel() == g.w[0], "conv2d: bias has " + std::to_string(b->numel()) + " values, expected " + std::to_string(g.w[0]));
    using PD = dnnl::convolution_forward::primitive_desc;
    auto &e = cached("convF" + std::string(training ? "t" : "i") + g.k, [&] {
      auto prop = training ? prop_kind::forward_training : prop_kind::forward_inference;
      return makeEntry<PD, dnnl::convolution_forward>(withFallback(g.alg, [&](algorithm alg) { return convFwdPd(g, prop, alg); }));
    });
    auto &pd = pdOf<PD>(e);
    auto xs = asLayout(x, pd.src_desc());
    auto ws = asLayout(w, pd.weights_desc());
    auto y = newTensor(pd.dst_desc());
    std::unordered_map<int, memory> args{{DNNL_ARG_SRC, xs->mem}, {DNNL_ARG_WEIGHTS, ws->mem}, {DNNL_ARG_DST, y->mem}};
    if (b) args[DNNL_ARG_BIAS] = b->mem;
    execute(e.prim, args);
    return wrap(info.Env(), y);
  });
}

Napi::Value ConvBackwardData(const Napi::CallbackInfo &info) {
  return guarded(info, "conv2d backward-data", [&]() -> Napi::Value {
    Attrs a(info, "convBackwardData", 3, {"stride", "padding", "bf16", "algorithm", "hasBias"});
    auto dy = unwrap(info[0], "conv2d backward", "grad");
    auto x = unwrap(info[1], "conv2d backward", "input");
    auto w = unwrap(info[2], "conv2d backward", "weight");
    auto g = convGeom(x, w->md.dims(), a.boolean("hasBias"), a, "conv2d backward");
    using PD = dnnl::convolution_backward_data::primitive_desc;
    auto &e = cached("convBD" + g.k, [&] {
      // the hint is the forward of the same algorithm: both Winograd, or (falling back together) both direct
      auto pd = withFallback(g.alg, [&](algorithm alg) {
        dnnl::convolution_backward_data::desc d(alg, anyDesc(g.x, g.act), anyDesc(g.w, g.act), anyDesc(g.y, g.act), g.stride, g.padL, g.padR);
        return PD(d, engine(), convFwdPd(g, prop_kind::forward_training, alg));
      });
      return makeEntry<PD, dnnl::convolution_backward_data>(pd);
    });
    auto &pd = pdOf<PD>(e);
    auto dys = asLayout(dy, pd.diff_dst_desc());
    auto ws = asLayout(w, pd.weights_desc());
    auto dx = newTensor(pd.diff_src_desc());
    execute(e.prim, {{DNNL_ARG_DIFF_DST, dys->mem}, {DNNL_ARG_WEIGHTS, ws->mem}, {DNNL_ARG_DIFF_SRC, dx->mem}});
    return wrap(info.Env(), dx);
  });
}

Napi::Value ConvBackwardWeights(const Napi::CallbackInfo &info) {
  return guarded(info, "conv2d backward-weights", [&]() -> Napi::Value {
    Attrs a(info, "convBackwardWeights", 2, {"stride", "padding", "bf16", "algorithm", "weightShape", "hasBias"});
    auto dy = unwrap(info[0], "conv2d backward", "grad");
    auto x = unwrap(info[1], "conv2d backward", "input");
    bool hasBias = a.boolean("hasBias");
    auto g = convGeom(x, a.shape("weightShape"), hasBias, a, "conv2d backward");
    using PD = dnnl::convolution_backward_weights::primitive_desc;
    auto &e = cached("convBW" + g.k, [&] {
      auto b = hasBias ? memory::desc({g.w[0]}, dt::f32, tag::a) : memory::desc();
      // weight gradients are f32 even for bf16 activations: they update f32 master weights; the hint
      // is the forward of the same algorithm (both Winograd, or falling back together to direct)
      auto pd = withFallback(g.alg, [&](algorithm alg) {
        dnnl::convolution_backward_weights::desc d(alg, anyDesc(g.x, g.act), anyDesc(g.w), b, anyDesc(g.y, g.act), g.stride, g.padL, g.padR);
        return PD(d, engine(), convFwdPd(g, prop_kind::forward_training, alg));
      });
      return makeEntry<PD, dnnl::convolution_backward_weights>(pd);
    });
    auto &pd = pdOf<PD>(e);
    auto xs = asLayout(x, pd.src_desc());
    auto dys = asLayout(dy, pd.diff_dst_desc());
    auto dw = newTensor(pd.diff_weights_desc());
    TensorPtr db = hasBias ? newTensor(plainDesc({g.w[0]})) : nullptr;
    std::unordered_map<int, memory> args{{DNNL_ARG_SRC, xs->mem}, {DNNL_ARG_DIFF_DST, dys->mem}, {DNNL_ARG_DIFF_WEIGHTS, dw->mem}};
    if (db) args[DNNL_ARG_DIFF_BIAS] = db->mem;
    execute(e.prim, args);
    return pair(info.Env(), toPlain(dw), db);
  });
}

// ---- batch normalization ------------------------------------------------------------------

const auto bnFlags = dnnl::normalization_flags::use_scale | dnnl::normalization_flags::use_shift;

void checkChannels(const TensorPtr &x, std::initializer_list<TensorPtr> per, const char *op) {
  require(x->md.dims().size() >= 2, std::string(op) + ": input must have a channel dim, got " + describe(x));
  int64_t c = x->md.dims()[1];
  for (auto &t : per)
    require(t && t->numel() == c, std::string(op) + ": per-channel tensor " + describe(t) + " does not match " +
                                      std::to_string(c) + " channels of input " + describe(x));
}

dnnl::normalization_flags bnFlagsFor(bool globalStats, bool relu) {
  auto flags = bnFlags;
  if (globalStats) flags |= dnnl::normalization_flags::use_global_stats;
  if (relu) flags |= dnnl::normalization_flags::fuse_norm_relu;
  return flags;
}

dnnl::batch_normalization_forward::primitive_desc bnTrainPd(const memory::desc &md, float eps, bool globalStats = false, bool relu = false) {
  auto flags = bnFlagsFor(globalStats, relu);
  dnnl::batch_normalization_forward::desc d(prop_kind::forward_training, md, eps, flags);
  return dnnl::batch_normalization_forward::primitive_desc(d, engine());
}

// (x, gamma, beta, {eps, fuseRelu}) -> [y, mean, biased var, workspace|null]. With fuseRelu, y is
// relu(batchnorm(x)) and the workspace records where the ReLU passed, for the backward.
Napi::Value BatchNormForwardTraining(const Napi::CallbackInfo &info) {
  return guarded(info, "batchnorm forward", [&]() -> Napi::Value {
    Attrs a(info, "batchNormForwardTraining", 3, {"eps", "fuseRelu"});
    auto x = unwrap(info[0], "batchnorm", "input");
    auto gamma = unwrap(info[1], "batchnorm", "weight");
    auto beta = unwrap(info[2], "batchnorm", "bias");
    float eps = (float)a.num("eps");
    bool relu = a.boolean("fuseRelu");
    checkChannels(x, {gamma, beta}, "batchnorm");
    using PD = dnnl::batch_normalization_forward::primitive_desc;
    auto &e = cached(key({"bnFT", mdKey(x->md), num(eps), relu ? "relu" : ""}), [&] {
      return makeEntry<PD, dnnl::batch_normalization_forward>(bnTrainPd(x->md, eps, false, relu));
    });
    auto &pd = pdOf<PD>(e);
    auto y = newTensor(pd.dst_desc());
    auto mean = newTensor(pd.mean_desc());
    auto var = newTensor(pd.variance_desc());
    std::unordered_map<int, memory> args{{DNNL_ARG_SRC, x->mem}, {DNNL_ARG_DST, y->mem}, {DNNL_ARG_SCALE, gamma->mem},
                                         {DNNL_ARG_SHIFT, beta->mem}, {DNNL_ARG_MEAN, mean->mem}, {DNNL_ARG_VARIANCE, var->mem}};
    TensorPtr ws = relu ? newTensor(pd.workspace_desc()) : nullptr;
    if (ws) args[DNNL_ARG_WORKSPACE] = ws->mem;
    execute(e.prim, args);
    auto arr = Napi::Array::New(info.Env(), 4);
    arr.Set(0u, wrap(info.Env(), y));
    arr.Set(1u, wrap(info.Env(), mean));
    arr.Set(2u, wrap(info.Env(), var));
    arr.Set(3u, ws ? wrap(info.Env(), ws) : info.Env().Null());
    return arr;
  });
}

// (x, gamma, beta, runningMean, runningVar, {eps, fuseRelu}) -> y
Napi::Value BatchNormForwardInference(const Napi::CallbackInfo &info) {
  return guarded(info, "batchnorm inference", [&]() -> Napi::Value {
    Attrs a(info, "batchNormForwardInference", 5, {"eps", "fuseRelu"});
    auto x = unwrap(info[0], "batchnorm", "input");
    auto gamma = unwrap(info[1], "batchnorm", "weight");
    auto beta = unwrap(info[2], "batchnorm", "bias");
    auto mean = unwrap(info[3], "batchnorm", "running_mean");
    auto var = unwrap(info[4], "batchnorm", "running_var");
    float eps = (float)a.num("eps");
    bool relu = a.boolean("fuseRelu");
    checkChannels(x, {gamma, beta, mean, var}, "batchnorm");
    using PD = dnnl::batch_normalization_forward::primitive_desc;
    auto &e = cached(key({"bnFI", mdKey(x->md), num(eps), relu ? "relu" : ""}), [&] {
      dnnl::batch_normalization_forward::desc d(prop_kind::forward_inference, x->md, eps, bnFlagsFor(true, relu));
      return makeEntry<PD, dnnl::batch_normalization_forward>(PD(d, engine()));
    });
    auto y = newTensor(pdOf<PD>(e).dst_desc());
    execute(e.prim, {{DNNL_ARG_SRC, x->mem}, {DNNL_ARG_DST, y->mem}, {DNNL_ARG_SCALE, gamma->mem},
                     {DNNL_ARG_SHIFT, beta->mem}, {DNNL_ARG_MEAN, mean->mem}, {DNNL_ARG_VARIANCE, var->mem}});
    return wrap(info.Env(), y);
  });
}

// (dy, x, gamma, beta, mean, var, workspace|null, {eps, globalStats}) -> [dx, dgamma, dbeta]. With
// globalStats (eval mode) mean and var are constants, so the op is a per-channel affine map. With
// the fused-ReLU forward's workspace, dy is first masked where the ReLU blocked.
Napi::Value BatchNormBackward(const Napi::CallbackInfo &info) {
  return guarded(info, "batchnorm backward", [&]() -> Napi::Value {
    Attrs a(info, "batchNormBackward", 7, {"eps", "globalStats"});
    auto dy = unwrap(info[0], "batchnorm backward", "grad");
    auto x = unwrap(info[1], "batchnorm backward", "input");
    auto gamma = unwrap(info[2], "batchnorm backward", "weight");
    auto beta = unwrap(info[3], "batchnorm backward", "bias");
    auto mean = unwrap(info[4], "batchnorm backward", "mean");
    auto var = unwrap(info[5], "batchnorm backward", "var");
    auto ws = unwrapOptional(info[6], "batchnorm backward", "workspace");
    float eps = (float)a.num("eps");
    bool globalStats = a.boolean("globalStats");
    bool relu = (bool)ws;
    checkChannels(x, {gamma, beta, mean, var}, "batchnorm backward");
    using PD = dnnl::batch_normalization_backward::primitive_desc;
    auto &e = cached(key({"bnB", mdKey(x->md), num(eps), globalStats ? "g" : "b", relu ? "relu" : ""}), [&] {
      dnnl::batch_normalization_backward::desc d(prop_kind::backward, x->md, x->md, eps, bnFlagsFor(globalStats, relu));
      return makeEntry<PD, dnnl::batch_normalization_backward>(PD(d, engine(), bnTrainPd(x->md, eps, globalStats, relu)));
    });
    auto &pd = pdOf<PD>(e);
    auto dys = asLayout(dy, pd.diff_dst_desc());
    auto dx = newTensor(pd.diff_src_desc());
    auto dgamma = newTensor(plainDesc(gamma->md.dims()));
    auto dbeta = newTensor(plainDesc(beta->md.dims()));
    std::unordered_map<int, memory> args{{DNNL_ARG_SRC, x->mem}, {DNNL_ARG_MEAN, mean->mem}, {DNNL_ARG_VARIANCE, var->mem},
                                         {DNNL_ARG_DIFF_DST, dys->mem}, {DNNL_ARG_SCALE, gamma->mem}, {DNNL_ARG_SHIFT, beta->mem},
                                         {DNNL_ARG_DIFF_SRC, dx->mem}, {DNNL_ARG_DIFF_SCALE, dgamma->mem}, {DNNL_ARG_DIFF_SHIFT, dbeta->mem}};
    if (ws) args[DNNL_ARG_WORKSPACE] = ws->mem;
    execute(e.prim, args);
    auto arr = Napi::Array::New(info.Env(), 3);
    arr.Set(0u, wrap(info.Env(), dx));
    arr.Set(1u, wrap(info.Env(), dgamma));
    arr.Set(2u, wrap(info.Env(), dbeta));
    return arr;
  });
}

// PyTorch's running statistics: r = (1-m) r + m s, with the unbiased batch variance.
// (runningMean, runningVar, mean, biasedVar, {momentum, count})
Napi::Value BatchNormUpdateRunning(const Napi::CallbackInfo &info) {
  return guarded(info, "batchnorm running stats", [&]() -> Napi::Value {
    Attrs a(info, "batchNormUpdateRunning", 4, {"momentum", "count"});
    auto rm = unwrap(info[0], "batchnorm", "running_mean");
    auto rv = unwrap(info[1], "batchnorm", "running_var");
    auto mean = unwrap(info[2], "batchnorm", "mean");
    auto var = unwrap(info[3], "batchnorm", "var");
    double m = a.num("momentum");
    double n = a.num("count");
    int64_t c = rm->numel();
    require(rv->numel() == c && mean->numel() == c && var->numel() == c, "batchnorm: running stats size mismatch");
    double unbias = n > 1 ? n / (n - 1) : 1.0;
    for (int64_t i = 0; i < c; i++) {
      rm->f32()[i] = (float)((1 - m) * rm->f32()[i] + m * mean->f32()[i]);
      rv->f32()[i] = (float)((1 - m) * rv->f32()[i] + m * var->f32()[i] * unbias);
    }
    return info.Env().Undefined();
  });
}

// ---- convolution with its BatchNorm folded in (eval) ---------------------------------------
//
// y = [relu](batchnorm_eval(conv(x, w, b))) as one convolution: weights w·s and bias (b − mean)·s + beta
// with s = gamma/√(var+eps) per output channel, and the ReLU as the convolution's eltwise post-op, so
// the separate BatchNorm (+ReLU) pass over the output disappears. Folded on every call, nothing kept:
// the optimizer or a state dict may change the parameters and running statistics between calls. The
// scaling rides on the reorder into the convolution's weights layout, which convForward does anyway.
// f32 (a bf16 input is converted, as convForward without bf16 does); Winograd where asked and oneDNN has it
// for the shape (withFallback), as the convolution would run unfolded.

dnnl::convolution_forward::primitive_desc convBnPd(const ConvGeom &g, bool relu, algorithm alg) {
  dnnl::convolution_forward::desc d(prop_kind::forward_inference, alg, anyDesc(g.x), anyDesc(g.w),
                                    memory::desc({g.w[0]}, dt::f32, tag::a), anyDesc(g.y), g.stride, g.padL, g.padR);
  dnnl::primitive_attr attr;
  if (relu) {
    dnnl::post_ops ops;
    ops.append_eltwise(1.f, algorithm::eltwise_relu, 0.f, 0.f);
    attr.set_post_ops(ops);
  }
  return dnnl::convolution_forward::primitive_desc(d, attr, engine());
}

// (x, w, b|null, gamma, beta, runningMean, runningVar, {stride, padding, eps, relu}) -> y
Napi::Value ConvBnForwardInference(const Napi::CallbackInfo &info) {
  return guarded(info, "conv2d+batchnorm inference", [&]() -> Napi::Value {
    const char *op = "conv2d+batchnorm";
    Attrs a(info, "convBnForwardInference", 7, {"stride", "padding", "eps", "relu", "algorithm"});
    auto x = unwrap(info[0], op, "input");
    auto w = toPlainF32(unwrap(info[1], op, "weight"));
    auto b = unwrapOptional(info[2], op, "bias");
    double eps = a.num("eps");
    bool relu = a.boolean("relu");
    require(eps > 0, std::string(op) + ": eps must be positive, got " + num(eps));
    // the folded bias, whether or not the convolution has one
    auto g = convGeom(x->md.dims(), w->md.dims(), true, dt::f32, a, op);
    int64_t o = g.w[0];
    auto perChannel = [&](const Napi::Value &v, const char *what) {
      auto t = unwrap(v, op, what);
      require(t->numel() == o, std::string(op) + ": " + what + " has " + std::to_string(t->numel()) + " values, expected " +
                                   std::to_string(o) + " (the weight's output channels)");
      return toPlainF32(t);
    };
    auto bias = b ? perChannel(info[2], "bias") : nullptr;
    auto gamma = perChannel(info[3], "batchnorm weight");
    auto beta = perChannel(info[4], "batchnorm bias");
    auto mean = perChannel(info[5], "running_mean");
    auto var = perChannel(info[6], "running_var");
    using PD = dnnl::convolution_forward::primitive_desc;
    auto &e = cached("convBnI" + g.k + (relu ? "relu" : ""), [&] {
      return makeEntry<PD, dnnl::convolution_forward>(withFallback(g.alg, [&](algorithm k) { return convBnPd(g, relu, k); }));
    });
    auto &pd = pdOf<PD>(e);
    // plain weights -> the convolution's layout, times s: per-output-channel scales (mask 1: dim 0 of
    // [O,I,kh,kw]) given at run time, so one primitive serves every value of the statistics
    using RPD = dnnl::reorder::primitive_desc;
    auto &r = cached(key({"convBnW", dimsStr(g.w), mdKey(pd.weights_desc())}), [&] {
      dnnl::primitive_attr attr;
      attr.set_output_scales(1, {DNNL_RUNTIME_F32_VAL});
      return makeEntry<RPD, dnnl::reorder>(RPD(engine(), plainDesc(g.w), engine(), pd.weights_desc(), attr));
    });
    auto scale = newTensor(plainDesc({o}));
    auto shift = newTensor(plainDesc({o}));
    for (int64_t c = 0; c < o; c++) {
      double s = (double)gamma->f32()[c] / std::sqrt((double)var->f32()[c] + eps);
      scale->f32()[c] = (float)s;
      shift->f32()[c] = (float)(((bias ? (double)bias->f32()[c] : 0.0) - mean->f32()[c]) * s + beta->f32()[c]);
    }
    auto wf = newTensor(pd.weights_desc());
    execute(r.prim, {{DNNL_ARG_FROM, w->mem}, {DNNL_ARG_TO, wf->mem}, {DNNL_ARG_ATTR_OUTPUT_SCALES, scale->mem}});
    auto xs = asLayout(x, pd.src_desc());
    auto y = newTensor(pd.dst_desc());
    execute(e.prim, {{DNNL_ARG_SRC, xs->mem}, {DNNL_ARG_WEIGHTS, wf->mem}, {DNNL_ARG_BIAS, shift->mem}, {DNNL_ARG_DST, y->mem}});
    return wrap(info.Env(), y);
  });
}

// ---- ReLU ------------------------------------------------------------------------------

Napi::Value ReluForward(const Napi::CallbackInfo &info) {
  return guarded(info, "relu forward", [&]() -> Napi::Value {
    expectArgs(info, "reluForward", 1);
    auto x = unwrap(info[0], "relu", "input");
    using PD = dnnl::eltwise_forward::primitive_desc;
    auto &e = cached(key({"reluF", mdKey(x->md)}), [&] {
      dnnl::eltwise_forward::desc d(prop_kind::forward_training, algorithm::eltwise_relu_use_dst_for_bwd, x->md, 0.f, 0.f);
      return makeEntry<PD, dnnl::eltwise_forward>(PD(d, engine()));
    });
    auto y = newTensor(pdOf<PD>(e).dst_desc());
    execute(e.prim, {{DNNL_ARG_SRC, x->mem}, {DNNL_ARG_DST, y->mem}});
    return wrap(info.Env(), y);
  });
}

// (dy, y) -> dx: gradient passes where the output is positive, as PyTorch's threshold_backward.
Napi::Value ReluBackward(const Napi::CallbackInfo &info) {
  return guarded(info, "relu backward", [&]() -> Napi::Value {
    expectArgs(info, "reluBackward", 2);
    auto dy = unwrap(info[0], "relu backward", "grad");
    auto y = unwrap(info[1], "relu backward", "output");
    using PD = dnnl::eltwise_backward::primitive_desc;
    auto &e = cached(key({"reluB", mdKey(y->md)}), [&] {
      dnnl::eltwise_forward::desc fd(prop_kind::forward_training, algorithm::eltwise_relu_use_dst_for_bwd, y->md, 0.f, 0.f);
      dnnl::eltwise_backward::desc d(algorithm::eltwise_relu_use_dst_for_bwd, y->md, y->md, 0.f, 0.f);
      return makeEntry<PD, dnnl::eltwise_backward>(PD(d, engine(), dnnl::eltwise_forward::primitive_desc(fd, engine())));
    });
    auto dys = asLayout(dy, y->md);
    auto dx = newTensor(pdOf<PD>(e).diff_src_desc());
    execute(e.prim, {{DNNL_ARG_DST, y->mem}, {DNNL_ARG_DIFF_DST, dys->mem}, {DNNL_ARG_DIFF_SRC, dx->mem}});
    return wrap(info.Env(), dx);
  });
}

// ---- pooling -------------------------------------------------------------------------------

struct PoolGeom {
  dims x, y, kernel, stride, padL, padR;
  algorithm alg;
  std::string k;
};

// kernel/stride/padding as PyTorch's MaxPool2d (floor mode), from max pooling's attributes;
// without them (avg) the global average (AdaptiveAvgPool2d(1)).
PoolGeom poolGeom(const TensorPtr &x, const Attrs *maxAttrs, const char *op) {
  bool avg = !maxAttrs;
  PoolGeom g;
  g.x = x->md.dims();
  require(g.x.size() == 4, std::string(op) + ": input must be NCHW, got " + dimsStr(g.x));
  if (avg) {
    g.kernel = {g.x[2], g.x[3]};
    g.stride = {1, 1};
    g.padL = {0, 0};
    g.alg = algorithm::pooling_avg_exclude_padding;
  } else {
    g.kernel = maxAttrs->pair("kernel");
    g.stride = maxAttrs->pair("stride");
    g.padL = maxAttrs->pair("padding");
    g.alg = algorithm::pooling_max;
    for (int i = 0; i < 2; i++)
      require(g.padL[i] * 2 <= g.kernel[i], std::string(op) + ": padding should be at most half of kernel size");
  }
  g.y = {g.x[0], g.x[1], 0, 0};
  for (int i = 0; i < 2; i++) {
    int64_t span = g.x[2 + i] + 2 * g.padL[i] - g.kernel[i];
    require(span >= 0 && g.stride[i] > 0, std::string(op) + ": kernel larger than padded input " + dimsStr(g.x));
    g.y[2 + i] = span / g.stride[i] + 1;
    g.padR.push_back((g.y[2 + i] - 1) * g.stride[i] + g.kernel[i] - g.x[2 + i] - g.padL[i]);
  }
  g.k = key({mdKey(x->md), dimsStr(g.kernel), dimsStr(g.stride), dimsStr(g.padL), avg ? "avg" : "max"});
  return g;
}

// Max pooling runs our own kernels (maxpool.h) on f32 input in a channel-blocked layout (nChw8c,
// nChw16c: what oneDNN picks for activations on AVX2 and AVX-512 CPUs) with a window of at most 255
// positions (a u8 workspace), on a CPU with AVX2; everything else (plain or nhwc input, bf16, an ISA
// capped below AVX2) runs oneDNN's pooling. Both keep the same workspace format, so the choice may
// differ between a forward and its backward.
enum class MaxPoolKernels { automatic, onednn, portable };  // debugMaxPool chooses; automatic by default
MaxPoolKernels maxPoolKernels = MaxPoolKernels::automatic;
int64_t maxPoolCalls[2] = {0, 0};  // [oneDNN, ours], forward and backward calls, for debugMaxPool

struct OwnMaxPool {
  int64_t block = 0;  // 0: oneDNN's pooling
  tag layout = tag::undef;
  maxpool::Path path = maxpool::Path::portable;
};

OwnMaxPool ownMaxPool(const memory::desc &xmd, const PoolGeom &g) {
  OwnMaxPool own;
  bool portable = maxPoolKernels == MaxPoolKernels::portable;
  if (maxPoolKernels == MaxPoolKernels::onednn || (!portable && !maxpool::avx2Usable()) ||
      xmd.data_type() != dt::f32 || g.kernel[0] * g.kernel[1] > 255)
    return own;
  for (auto [block, layout] : {std::pair<int64_t, tag>{8, tag::nChw8c}, {16, tag::nChw16c}})
    if (xmd == memory::desc(g.x, dt::f32, layout)) {
      own.block = block;
      own.layout = layout;
    }
  own.path = portable ? maxpool::Path::portable : maxpool::Path::avx2;
  return own;
}

void countMaxPool(int64_t ownBlock) { maxPoolCalls[ownBlock ? 1 : 0]++; }

maxpool::Geom maxPoolGeom(const PoolGeom &g, int64_t block) {
  return {g.x[0], g.x[1], block, g.x[2], g.x[3], g.y[2], g.y[3],
          g.kernel[0], g.kernel[1], g.stride[0], g.stride[1], g.padL[0], g.padL[1]};
}

dnnl::pooling_forward::primitive_desc poolFwdPd(const PoolGeom &g, const memory::desc &xmd, prop_kind prop) {
  dnnl::pooling_forward::desc d(prop, g.alg, xmd, anyDesc(g.y, xmd.data_type()), g.stride, g.kernel, g.padL, g.padR);
  return dnnl::pooling_forward::primitive_desc(d, engine());
}

// max: (x, {kernel, stride, padding, training}), avg: (x, {training}) -> [y, workspace|null]
Napi::Value PoolForward(const Napi::CallbackInfo &info, bool avg) {
  const char *op = avg ? "avgpool forward" : "maxpool forward";
  return guarded(info, op, [&]() -> Napi::Value {
    Attrs a = avg ? Attrs(info, "avgPoolForward", 1, {"training"})
                  : Attrs(info, "maxPoolForward", 1, {"kernel", "stride", "padding", "training"});
    auto x = unwrap(info[0], op, "input");
    auto g = poolGeom(x, avg ? nullptr : &a, op);
    bool training = a.boolean("training");
    if (!avg) {
      auto own = ownMaxPool(x->md, g);
      countMaxPool(own.block);
      if (own.block) {
        auto y = newTensor(memory::desc(g.y, dt::f32, own.layout));
        auto ws = training ? newTensor(memory::desc(g.y, dt::u8, own.layout)) : nullptr;
        maxpool::forward(maxPoolGeom(g, own.block), x->f32(), y->f32(), ws ? static_cast<uint8_t *>(ws->data) : nullptr,
                         own.path);
        return pair(info.Env(), y, ws);
      }
    }
    using PD = dnnl::pooling_forward::primitive_desc;
    auto &e = cached("poolF" + std::string(training ? "t" : "i") + g.k, [&] {
      return makeEntry<PD, dnnl::pooling_forward>(
          poolFwdPd(g, x->md, training ? prop_kind::forward_training : prop_kind::forward_inference));
    });
    auto &pd = pdOf<PD>(e);
    auto y = newTensor(pd.dst_desc());
    std::unordered_map<int, memory> args{{DNNL_ARG_SRC, x->mem}, {DNNL_ARG_DST, y->mem}};
    TensorPtr ws;
    if (pd.workspace_desc().get_size() > 0) {
      ws = newTensor(pd.workspace_desc());
      args[DNNL_ARG_WORKSPACE] = ws->mem;
    }
    execute(e.prim, args);
    return pair(info.Env(), y, ws);
  });
}

// max: (dy, x, workspace, {kernel, stride, padding}), avg: (dy, x, null) -> dx
Napi::Value PoolBackward(const Napi::CallbackInfo &info, bool avg) {
  const char *op = avg ? "avgpool backward" : "maxpool backward";
  return guarded(info, op, [&]() -> Napi::Value {
    Attrs a = avg ? Attrs(info, "avgPoolBackward", 3) : Attrs(info, "maxPoolBackward", 3, {"kernel", "stride", "padding"});
    auto dy = unwrap(info[0], op, "grad");
    auto x = unwrap(info[1], op, "input");
    auto ws = unwrapOptional(info[2], op, "workspace");
    auto g = poolGeom(x, avg ? nullptr : &a, op);
    require(avg || ws, std::string(op) + ": max pooling backward needs the forward workspace");
    if (!avg) {
      auto own = ownMaxPool(x->md, g);
      countMaxPool(own.block);
      if (own.block) {
        require(ws->md == memory::desc(g.y, dt::u8, own.layout),
                std::string(op) + ": the workspace does not belong to a max pooling of input " + describe(x));
        auto dys = asLayout(dy, memory::desc(g.y, dt::f32, own.layout));
        auto dx = newTensor(x->md);
        maxpool::backward(maxPoolGeom(g, own.block), dys->f32(), static_cast<const uint8_t *>(ws->data), dx->f32(),
                          own.path);
        return wrap(info.Env(), dx);
      }
    }
    using PD = dnnl::pooling_backward::primitive_desc;
    auto &e = cached("poolB" + g.k, [&] {
      dnnl::pooling_backward::desc d(g.alg, x->md, anyDesc(g.y, x->md.data_type()), g.stride, g.kernel, g.padL, g.padR);
      return makeEntry<PD, dnnl::pooling_backward>(PD(d, engine(), poolFwdPd(g, x->md, prop_kind::forward_training)));
    });
    auto &pd = pdOf<PD>(e);
    auto dys = asLayout(dy, pd.diff_dst_desc());
    auto dx = newTensor(pd.diff_src_desc());
    std::unordered_map<int, memory> args{{DNNL_ARG_DIFF_DST, dys->mem}, {DNNL_ARG_DIFF_SRC, dx->mem}};
    if (ws) args[DNNL_ARG_WORKSPACE] = ws->mem;
    execute(e.prim, args);
    return wrap(info.Env(), dx);
  });
}

// Debug API only (not part of Backend), for tests: ({kernels: 'auto'|'onednn'|'portable'}) chooses the
// max pooling kernels from now on ('portable': our scalar loops, on any CPU) and returns {onednn, ours},
// the forward and backward calls each served since the previous debugMaxPool.
Napi::Value DebugMaxPool(const Napi::CallbackInfo &info) {
  return guarded(info, "debugMaxPool", [&]() -> Napi::Value {
    Attrs a(info, "debugMaxPool", 0, {"kernels"});
    auto k = a.oneOf("kernels", {"auto", "onednn", "portable"});
    maxPoolKernels = k == "onednn" ? MaxPoolKernels::onednn
                     : k == "portable" ? MaxPoolKernels::portable
                                       : MaxPoolKernels::automatic;
    auto o = Napi::Object::New(info.Env());
    o.Set("onednn", Napi::Number::New(info.Env(), (double)maxPoolCalls[0]));
    o.Set("ours", Napi::Number::New(info.Env(), (double)maxPoolCalls[1]));
    maxPoolCalls[0] = maxPoolCalls[1] = 0;
    return o;
  });
}

Napi::Value MaxPoolForward(const Napi::CallbackInfo &info) { return PoolForward(info, false); }
Napi::Value MaxPoolBackward(const Napi::CallbackInfo &info) { return PoolBackward(info, false); }
Napi::Value AvgPoolForward(const Napi::CallbackInfo &info) { return PoolForward(info, true); }
Napi::Value AvgPoolBackward(const Napi::CallbackInfo &info) { return PoolBackward(info, true); }

// ---- channel concatenation -------------------------------------------------------------------

std::vector<TensorPtr> tensorList(const Napi::Value &v, const char *op) {
  require(v.IsArray(), std::string(op) + ": expected an array of tensors");
  auto a = v.As<Napi::Array>();
  std::vector<TensorPtr> out;
  for (uint32_t i = 0; i < a.Length(); i++) out.push_back(unwrap(a.Get(i), op, "list entry"));
  return out;
}

Napi::Value Concat(const Napi::CallbackInfo &info) {
  return guarded(info, "concat", [&]() -> Napi::Value {
    expectArgs(info, "concat", 1);
    auto xs = tensorList(info[0], "concat");
    require(!xs.empty(), "concat: needs at least one tensor");
    std::vector<memory::desc> mds;
    std::string k = "concat";
    auto d0 = xs[0]->md.dims();
    for (auto &x : xs) {
      auto d = x->md.dims();
      require(d.size() == d0.size() && d[0] == d0[0] &&
                  std::equal(d.begin() + 2, d.end(), d0.begin() + 2),
              "concat: shapes " + dimsStr(d0) + " and " + dimsStr(d) + " differ outside dim 1");
      mds.push_back(x->md);
      k += "#" + mdKey(x->md);
    }
    using PD = dnnl::concat::primitive_desc;
    auto &e = cached(k, [&] { return makeEntry<PD, dnnl::concat>(PD(1, mds, engine())); });
    auto y = newTensor(pdOf<PD>(e).dst_desc());
    std::unordered_map<int, memory> args{{DNNL_ARG_DST, y->mem}};
    for (size_t i = 0; i < xs.size(); i++) args[DNNL_ARG_MULTIPLE_SRC + (int)i] = xs[i]->mem;
    execute(e.prim, args);
    return wrap(info.Env(), y);
  });
}

// Concat's backward: (dy, inputs) -> one gradient per input, each in its input's layout.
Napi::Value ConcatBackward(const Napi::CallbackInfo &info) {
  return guarded(info, "concat backward", [&]() -> Napi::Value {
    expectArgs(info, "concatBackward", 2);
    auto dy = unwrap(info[0], "concat backward", "grad");
    auto xs = tensorList(info[1], "concat backward");
    auto dyd = dy->md.dims();
    int64_t total = 0;
    for (auto &x : xs) total += x->md.dims()[1];
    require(total == dyd[1], "concat backward: inputs have " + std::to_string(total) + " channels, grad " + dimsStr(dyd));
    TensorPtr plain;  // made only when a slice cannot be taken from dy's own layout
    auto out = Napi::Array::New(info.Env(), xs.size());
    int64_t off = 0;
    for (size_t i = 0; i < xs.size(); i++) {
      auto d = xs[i]->md.dims();
      dims offs(d.size(), 0);
      offs[1] = off;
      memory::desc sub = dy->md.submemory_desc(d, offs, true);
      memory src;
      if (sub.data.ndims != 0) {
        src = memory(sub, engine(), dy->data);
      } else {
        if (!plain) plain = toPlain(dy);
        src = memory(plain->md.submemory_desc(d, offs), engine(), plain->data);
      }
      auto dx = newTensor(xs[i]->md);
      reorderInto(src, dx->mem);
      out.Set((uint32_t)i, wrap(info.Env(), dx));
      off += d[1];
    }
    return out;
  });
}

// ---- elementwise helpers ---------------------------------------------------------------------

// dst = a + b in a's layout, by oneDNN's sum; dst is a new tensor or a itself (oneDNN's sum may
// write over its first source: each element is read before it is written). The primitive, and so
// the result bit for bit, is the same either way. Gradients may arrive in different layouts or
// types: b is reordered to a's first.
void sumInto(const TensorPtr &a, const TensorPtr &b, const TensorPtr &dst, const char *op) {
  require(a->md.dims() == b->md.dims(), std::string(op) + ": shapes " + describe(a) + " and " + describe(b) + " differ");
  auto bs = asLayout(b, a->md);
  using PD = dnnl::sum::primitive_desc;
  auto &e = cached(key({"sum", mdKey(a->md)}), [&] {
    return makeEntry<PD, dnnl::sum>(PD(a->md, {1.f, 1.f}, {a->md, a->md}, engine()));
  });
  execute(e.prim, {{DNNL_ARG_MULTIPLE_SRC, a->mem}, {DNNL_ARG_MULTIPLE_SRC + 1, bs->mem}, {DNNL_ARG_DST, dst->mem}});
}

// (a, b) -> a + b in a's layout.
Napi::Value Add(const Napi::CallbackInfo &info) {
  return guarded(info, "add", [&]() -> Napi::Value {
    expectArgs(info, "add", 2);
    auto a = unwrap(info[0], "add", "a");
    auto b = unwrap(info[1], "add", "b");
    auto y = newTensor(a->md);
    sumInto(a, b, y, "add");
    return wrap(info.Env(), y);
  });
}

// (a, b) -> nothing: a += b in place, in a's layout, bit for bit what add(a, b) returns. The engine
// accumulates gradients with it where branches meet, into a buffer it owns.
Napi::Value AddInPlace(const Napi::CallbackInfo &info) {
  return guarded(info, "add in place", [&]() -> Napi::Value {
    expectArgs(info, "addInPlace", 2);
    auto a = unwrap(info[0], "add in place", "a");
    auto b = unwrap(info[1], "add in place", "b");
    sumInto(a, b, a, "add in place");
    return info.Env().Undefined();
  });
}

// (x, mask: Float32Array, {maskShape}) -> x * mask, the mask broadcast over the dims where it is 1.
// Dropout's forward and backward are both this multiply.
Napi::Value MulMask(const Napi::CallbackInfo &info) {
  return guarded(info, "mask multiply", [&]() -> Napi::Value {
    Attrs a(info, "mulMask", 2, {"maskShape"});
    auto x = unwrap(info[0], "mask multiply", "input");
    auto mask = float32Arg(info[1], "mulMask", "mask");
    auto md = a.shape("maskShape");
    auto xd = x->md.dims();
    require(md.size() == xd.size(), "mask multiply: mask dims " + dimsStr(md) + " vs input " + dimsStr(xd));
    int64_t n = 1;
    for (size_t i = 0; i < md.size(); i++) {
      require(md[i] == xd[i] || md[i] == 1, "mask multiply: mask " + dimsStr(md) + " does not broadcast to " + dimsStr(xd));
      n *= md[i];
    }
    require((int64_t)mask.ElementLength() == n, "mask multiply: mask has wrong length");
    auto maskMd = plainDesc(md);
    using PD = dnnl::binary::primitive_desc;
    auto &e = cached(key({"mulmask", mdKey(x->md), dimsStr(md)}), [&] {
      dnnl::binary::desc d(algorithm::binary_mul, x->md, maskMd, x->md);
      return makeEntry<PD, dnnl::binary>(PD(d, engine()));
    });
    auto y = newTensor(x->md);
    memory m(maskMd, engine(), mask.Data());
    execute(e.prim, {{DNNL_ARG_SRC_0, x->mem}, {DNNL_ARG_SRC_1, m}, {DNNL_ARG_DST, y->mem}});
    return wrap(info.Env(), y);
  });
}

// (x, {shape}) -> a plain copy with new dims of the same element count (PyTorch's view/flatten).
Napi::Value Reshape(const Napi::CallbackInfo &info) {
  return guarded(info, "reshape", [&]() -> Napi::Value {
    Attrs a(info, "reshape", 1, {"shape"});
    auto x = unwrap(info[0], "reshape", "input");
    auto d = a.shape("shape");
    int64_t n = 1;
    for (auto v : d) n *= v;
    require(n == x->numel(), "reshape: cannot view " + describe(x) + " as " + dimsStr(d));
    auto y = newTensor(plainDesc(d));
    if (x->md == plainDesc(x->md.dims())) {
      std::memcpy(y->data, x->data, y->bytes);
    } else {
      memory view(plainDesc(x->md.dims()), engine(), y->data);
      reorderInto(x->mem, view);
    }
    return wrap(info.Env(), y);
  });
}

// ---- linear ----------------------------------------------------------------------------

struct LinGeom {
  dims x, w, y;
  std::string k;
};

LinGeom linGeom(const dims &x, const dims &w, const char *op) {
  require(x.size() == 2, std::string(op) + ": input must be [N, features], got " + dimsStr(x));
  require(w.size() == 2 && w[1] == x[1], std::string(op) + ": weight " + dimsStr(w) + " does not fit input " + dimsStr(x));
  return {x, w, {x[0], w[0]}, key({dimsStr(x), dimsStr(w)})};
}

dnnl::inner_product_forward::primitive_desc linFwdPd(const LinGeom &g, prop_kind prop) {
  dnnl::inner_product_forward::desc d(prop, plainDesc(g.x), plainDesc(g.w), plainDesc({g.w[0]}), plainDesc(g.y));
  return dnnl::inner_product_forward::primitive_desc(d, engine());
}

Napi::Value LinearForward(const Napi::CallbackInfo &info) {
  return guarded(info, "linear forward", [&]() -> Napi::Value {
    expectArgs(info, "linearForward", 3);
    auto x = toPlainF32(unwrap(info[0], "linear", "input"));
    auto w = unwrap(info[1], "linear", "weight");
    auto b = unwrap(info[2], "linear", "bias");
    auto g = linGeom(x->md.dims(), w->md.dims(), "linear");
    require(b->numel() == g.w[0], "linear: bias " + describe(b) + " does not match weight " + describe(w));
    using PD = dnnl::inner_product_forward::primitive_desc;
    auto &e = cached("linF" + g.k, [&] {
      return makeEntry<PD, dnnl::inner_product_forward>(linFwdPd(g, prop_kind::forward_training));
    });
    auto y = newTensor(plainDesc(g.y));
    execute(e.prim, {{DNNL_ARG_SRC, x->mem}, {DNNL_ARG_WEIGHTS, w->mem}, {DNNL_ARG_BIAS, b->mem}, {DNNL_ARG_DST, y->mem}});
    return wrap(info.Env(), y);
  });
}

Napi::Value LinearBackwardData(const Napi::CallbackInfo &info) {
  return guarded(info, "linear backward-data", [&]() -> Napi::Value {
    expectArgs(info, "linearBackwardData", 2);
    auto dy = toPlainF32(unwrap(info[0], "linear backward", "grad"));
    auto w = unwrap(info[1], "linear backward", "weight");
    auto g = linGeom({dy->md.dims()[0], w->md.dims()[1]}, w->md.dims(), "linear backward");
    using PD = dnnl::inner_product_backward_data::primitive_desc;
    auto &e = cached("linBD" + g.k, [&] {
      dnnl::inner_product_backward_data::desc d(plainDesc(g.x), plainDesc(g.w), plainDesc(g.y));
      return makeEntry<PD, dnnl::inner_product_backward_data>(PD(d, engine(), linFwdPd(g, prop_kind::forward_training)));
    });
    auto dx = newTensor(plainDesc(g.x));
    execute(e.prim, {{DNNL_ARG_DIFF_DST, dy->mem}, {DNNL_ARG_WEIGHTS, w->mem}, {DNNL_ARG_DIFF_SRC, dx->mem}});
    return wrap(info.Env(), dx);
  });
}

Napi::Value LinearBackwardWeights(const Napi::CallbackInfo &info) {
  return guarded(info, "linear backward-weights", [&]() -> Napi::Value {
    expectArgs(info, "linearBackwardWeights", 2);
    auto dy = toPlainF32(unwrap(info[0], "linear backward", "grad"));
    auto x = toPlainF32(unwrap(info[1], "linear backward", "input"));
    auto g = linGeom(x->md.dims(), {dy->md.dims()[1], x->md.dims()[1]}, "linear backward");
    using PD = dnnl::inner_product_backward_weights::primitive_desc;
    auto &e = cached("linBW" + g.k, [&] {
      dnnl::inner_product_backward_weights::desc d(plainDesc(g.x), plainDesc(g.w), plainDesc({g.w[0]}), plainDesc(g.y));
      return makeEntry<PD, dnnl::inner_product_backward_weights>(PD(d, engine(), linFwdPd(g, prop_kind::forward_training)));
    });
    auto dw = newTensor(plainDesc(g.w));
    auto db = newTensor(plainDesc({g.w[0]}));
    execute(e.prim, {{DNNL_ARG_SRC, x->mem}, {DNNL_ARG_DIFF_DST, dy->mem}, {DNNL_ARG_DIFF_WEIGHTS, dw->mem},
                     {DNNL_ARG_DIFF_BIAS, db->mem}});
    return pair(info.Env(), dw, db);
  });
}

// ---- softmax cross-entropy and top-k ----------------------------------------------------------

std::vector<int32_t> targetsArg(const Napi::Value &v, int64_t n, int64_t classes, const char *op) {
  require(v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_int32_array,
          std::string(op) + ": targets must be an Int32Array");
  auto t = v.As<Napi::Int32Array>();
  require((int64_t)t.ElementLength() == n, std::string(op) + ": " + std::to_string(t.ElementLength()) +
                                               " targets for a batch of " + std::to_string(n));
  std::vector<int32_t> out(t.Data(), t.Data() + n);
  for (auto c : out)
    require(c >= 0 && c < classes, std::string(op) + ": target " + std::to_string(c) + " out of range for " +
                                       std::to_string(classes) + " classes");
  return out;
}

// (logits [N,C], targets, {reduction: 'mean'|'sum', dloss?}) -> [loss, dlogits scaled by dloss, or null without dloss]
Napi::Value CrossEntropy(const Napi::CallbackInfo &info) {
  return guarded(info, "cross_entropy", [&]() -> Napi::Value {
    Attrs a(info, "crossEntropy", 2, {"reduction", "dloss"});
    bool mean = a.oneOf("reduction", {"mean", "sum"}) == "mean";
    bool wantGrad = a.has("dloss");
    double dloss = wantGrad ? a.num("dloss") : 0;
    auto x = toPlainF32(unwrap(info[0], "cross_entropy", "logits"));
    auto d = x->md.dims();
    require(d.size() == 2, "cross_entropy: logits must be [N, classes], got " + dimsStr(d));
    int64_t n = d[0], c = d[1];
    auto tg = targetsArg(info[1], n, c, "cross_entropy");
    TensorPtr g = wantGrad ? newTensor(plainDesc(d)) : nullptr;
    double total = 0;
    double gscale = mean ? dloss / (double)n : dloss;
    for (int64_t i = 0; i < n; i++) {
      const float *row = x->f32() + i * c;
      double mx = -INFINITY;
      for (int64_t j = 0; j < c; j++) mx = std::max(mx, (double)row[j]);
      double s = 0;
      for (int64_t j = 0; j < c; j++) s += std::exp((double)row[j] - mx);
      double lse = mx + std::log(s);
      total += lse - row[tg[i]];
      if (g) {
        float *grow = g->f32() + i * c;
        for (int64_t j = 0; j < c; j++)
          grow[j] = (float)((std::exp((double)row[j] - lse) - (j == tg[i] ? 1.0 : 0.0)) * gscale);
      }
    }
    auto arr = Napi::Array::New(info.Env(), 2);
    arr.Set(0u, Napi::Number::New(info.Env(), mean ? total / (double)n : total));
    arr.Set(1u, g ? wrap(info.Env(), g) : info.Env().Null());
    return arr;
  });
}

// (x [N,C], {k}) -> Int32Array [N*k] of class indices, best first; ties go to the lower index.
Napi::Value TopK(const Napi::CallbackInfo &info) {
  return guarded(info, "topk", [&]() -> Napi::Value {
    Attrs a(info, "topk", 1, {"k"});
    int64_t k = a.integer("k");
    auto x = toPlainF32(unwrap(info[0], "topk", "input"));
    auto d = x->md.dims();
    require(d.size() == 2, "topk: input must be [N, classes], got " + dimsStr(d));
    require(k >= 1 && k <= d[1], "topk: k=" + std::to_string(k) + " must be in 1.." + std::to_string(d[1]));
    auto out = Napi::Int32Array::New(info.Env(), d[0] * k);
    std::vector<int32_t> idx(d[1]);
    for (int64_t i = 0; i < d[0]; i++) {
      const float *row = x->f32() + i * d[1];
      std::iota(idx.begin(), idx.end(), 0);
      std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), [&](int32_t a, int32_t b) {
        return row[a] > row[b] || (row[a] == row[b] && a < b);
      });
      for (int64_t j = 0; j < k; j++) out.Data()[i * k + j] = idx[j];
    }
    return out;
  });
}

// ---- optimizer updates (PyTorch 1.13 semantics, in place on plain tensors) ------------------

void sameSize(const TensorPtr &p, std::initializer_list<TensorPtr> ts, const char *op) {
  require(p->md == plainDesc(p->md.dims()), std::string(op) + ": parameters must be plain f32 tensors");
  for (auto &t : ts)
    require(!t || (t->numel() == p->numel() && t->md == plainDesc(t->md.dims())),
            std::string(op) + ": state " + describe(t) + " does not match parameter " + describe(p));
}

// (p, g, squareAvg, accDelta, {lr, rho, eps, weightDecay})
Napi::Value AdadeltaStep(const Napi::CallbackInfo &info) {
  return guarded(info, "adadelta", [&]() -> Napi::Value {
    Attrs a(info, "adadeltaStep", 4, {"lr", "rho", "eps", "weightDecay"});
    auto p = unwrap(info[0], "adadelta", "param");
    auto g = unwrap(info[1], "adadelta", "grad");
    auto sa = unwrap(info[2], "adadelta", "square_avg");
    auto ad = unwrap(info[3], "adadelta", "acc_delta");
    sameSize(p, {g, sa, ad}, "adadelta");
    float lr = (float)a.num("lr"), rho = (float)a.num("rho");
    float eps = (float)a.num("eps"), wd = (float)a.num("weightDecay");
    float *P = p->f32(), *G = g->f32(), *S = sa->f32(), *A = ad->f32();
    int64_t n = p->numel();
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) {
      float grad = wd != 0.f ? G[i] + wd * P[i] : G[i];
      S[i] = S[i] * rho + (1.f - rho) * grad * grad;
      float stdv = std::sqrt(S[i] + eps);
      float delta = std::sqrt(A[i] + eps) / stdv * grad;
      A[i] = A[i] * rho + (1.f - rho) * delta * delta;
      P[i] += -lr * delta;
    }
    return info.Env().Undefined();
  });
}

// (p, g, momentumBuf|null, {lr, momentum, dampening, nesterov, weightDecay, firstStep})
Napi::Value SgdStep(const Napi::CallbackInfo &info) {
  return guarded(info, "sgd", [&]() -> Napi::Value {
    Attrs a(info, "sgdStep", 3, {"lr", "momentum", "dampening", "nesterov", "weightDecay", "firstStep"});
    auto p = unwrap(info[0], "sgd", "param");
    auto g = unwrap(info[1], "sgd", "grad");
    auto buf = unwrapOptional(info[2], "sgd", "momentum_buffer");
    sameSize(p, {g, buf}, "sgd");
    float lr = (float)a.num("lr"), mom = (float)a.num("momentum");
    float damp = (float)a.num("dampening");
    bool nesterov = a.boolean("nesterov");
    float wd = (float)a.num("weightDecay");
    bool first = a.boolean("firstStep");
    require(mom == 0.f || buf, "sgd: momentum needs a buffer");
    float *P = p->f32(), *G = g->f32(), *B = buf ? buf->f32() : nullptr;
    int64_t n = p->numel();
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) {
      float d = wd != 0.f ? G[i] + wd * P[i] : G[i];
      if (mom != 0.f) {
        B[i] = first ? d : B[i] * mom + (1.f - damp) * d;
        d = nesterov ? d + mom * B[i] : B[i];
      }
      P[i] += -lr * d;
    }
    return info.Env().Undefined();
  });
}

// (p, g, expAvg, expAvgSq, maxExpAvgSq|null, {lr, beta1, beta2, eps, weightDecay, decoupled, step})
Napi::Value AdamStep(const Napi::CallbackInfo &info) {
  return guarded(info, "adam", [&]() -> Napi::Value {
    Attrs a(info, "adamStep", 5, {"lr", "beta1", "beta2", "eps", "weightDecay", "decoupled", "step"});
    auto p = unwrap(info[0], "adam", "param");
    auto g = unwrap(info[1], "adam", "grad");
    auto m = unwrap(info[2], "adam", "exp_avg");
    auto v = unwrap(info[3], "adam", "exp_avg_sq");
    auto vmax = unwrapOptional(info[4], "adam", "max_exp_avg_sq");
    sameSize(p, {g, m, v, vmax}, "adam");
    float lr = (float)a.num("lr"), b1 = (float)a.num("beta1");
    float b2 = (float)a.num("beta2"), eps = (float)a.num("eps");
    float wd = (float)a.num("weightDecay");
    bool decoupled = a.boolean("decoupled");
    double step = a.num("step");
    float bc1 = (float)(1.0 - std::pow((double)b1, step));
    float bc2 = (float)(1.0 - std::pow((double)b2, step));
    float stepSize = lr / bc1;
    float bc2Sqrt = std::sqrt(bc2);
    float *P = p->f32(), *G = g->f32(), *M = m->f32(), *V = v->f32(), *X = vmax ? vmax->f32() : nullptr;
    int64_t n = p->numel();
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) {
      float grad = G[i];
      if (wd != 0.f) {
        if (decoupled) P[i] *= 1.f - lr * wd;
        else grad += wd * P[i];
      }
      M[i] = M[i] * b1 + (1.f - b1) * grad;
      V[i] = V[i] * b2 + (1.f - b2) * grad * grad;
      float vv = V[i];
      if (X) {
        X[i] = std::max(X[i], V[i]);
        vv = X[i];
      }
      float denom = std::sqrt(vv) / bc2Sqrt + eps;
      P[i] += -stepSize * M[i] / denom;
    }
    return info.Env().Undefined();
  });
}

}  // namespace

void registerOps(Napi::Env env, Napi::Object exports) {
  auto fn = [&](const char *name, Napi::Function::Callback cb) { exports.Set(name, Napi::Function::New(env, cb)); };
  fn("convForward", ConvForward);
  fn("convBackwardData", ConvBackwardData);
  fn("convBackwardWeights", ConvBackwardWeights);
  fn("batchNormForwardTraining", BatchNormForwardTraining);
  fn("batchNormForwardInference", BatchNormForwardInference);
  fn("batchNormBackward", BatchNormBackward);
  fn("batchNormUpdateRunning", BatchNormUpdateRunning);
  fn("convBnForwardInference", ConvBnForwardInference);
  fn("reluForward", ReluForward);
  fn("reluBackward", ReluBackward);
  fn("maxPoolForward", MaxPoolForward);
  fn("maxPoolBackward", MaxPoolBackward);
  fn("debugMaxPool", DebugMaxPool);
  fn("avgPoolForward", AvgPoolForward);
  fn("avgPoolBackward", AvgPoolBackward);
  fn("concat", Concat);
  fn("concatBackward", ConcatBackward);
  fn("add", Add);
  fn("addInPlace", AddInPlace);
  fn("mulMask", MulMask);
  fn("reshape", Reshape);
  fn("linearForward", LinearForward);
  fn("linearBackwardData", LinearBackwardData);
  fn("linearBackwardWeights", LinearBackwardWeights);
  fn("crossEntropy", CrossEntropy);
  fn("topk", TopK);
  fn("adadeltaStep", AdadeltaStep);
  fn("sgdStep", SgdStep);
  fn("adamStep", AdamStep);
}

}  // namespace gn

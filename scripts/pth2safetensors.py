#!/usr/bin/env python3
"""Convert a PyTorch state dict (.pth, legacy or zip format) to safetensors with timm's names.

Standard library only (no torch, no numpy): the pickle is read with a restricted unpickler that
only rebuilds tensors, storages and ordered dicts, so a .pth from a registry package cannot run code.

    pth2safetensors.py {mobilenetv2|efficientnet-lite0} IN.pth OUT.safetensors

Name mappings (the target is timm's `mobilenetv2_100` / `efficientnet_lite0` layout, which
`moodlens train --init imagenet=` and `crates/model/src/imagenet.rs` read):
- torchvision MobileNetV2: `features.0.{0,1}` -> `conv_stem`, `bn1`; `features.1.conv.*` ->
  `blocks.0.0.{conv_dw,bn1,conv_pw,bn2}`; `features.K.conv.*` (K = 2..17) -> `blocks.S.I.{conv_pw,bn1,
  conv_dw,bn2,conv_pwl,bn3}` (stage repeats 1,2,3,4,3,3,1); `features.18.{0,1}` -> `conv_head`, `bn2`;
  `classifier.1` -> `classifier`.
- efficientnet_pytorch EfficientNet-Lite0: `_conv_stem`, `_bn0` -> `conv_stem`, `bn1`; `_blocks.N`
  (N = 0..15, stage repeats 1,2,2,3,3,4,1) `_expand_conv, _bn0, _depthwise_conv, _bn1, _project_conv,
  _bn2` -> `conv_pw, bn1, conv_dw, bn2, conv_pwl, bn3` (block 0, without expansion: `conv_dw, bn1,
  conv_pw, bn2`); `_conv_head`, `_bn1` -> `conv_head`, `bn2`; `_fc` -> `classifier`.
Every input tensor must be mapped (an unknown name is an error), so a changed layout cannot pass
silently.
"""

import collections
import io
import json
import pickle
import re
import struct
import sys
import zipfile

DTYPES = {  # storage class -> (safetensors dtype, bytes per element)
    "FloatStorage": ("F32", 4),
    "DoubleStorage": ("F64", 8),
    "HalfStorage": ("F16", 2),
    "BFloat16Storage": ("BF16", 2),
    "LongStorage": ("I64", 8),
    "IntStorage": ("I32", 4),
    "ShortStorage": ("I16", 2),
    "CharStorage": ("I8", 1),
    "ByteStorage": ("U8", 1),
    "BoolStorage": ("BOOL", 1),
}
LEGACY_MAGIC = 0x1950A86A20F9469CFC6C


class StorageType:
    def __init__(self, name):
        if name not in DTYPES:
            raise ValueError(f"unsupported storage type {name}")
        self.dtype, self.itemsize = DTYPES[name]


class Storage:
    def __init__(self, key, stype):
        self.key = key
        self.stype = stype
        self.data = None  # bytes, filled once read


class Tensor:
    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), tuple(stride)

    def contiguous_bytes(self):
        """The elements in row-major order (gathered through the strides when they are permuted)."""
        item = self.storage.stype.itemsize
        data = self.storage.data
        if not self.size:
            return data[self.offset * item:(self.offset + 1) * item]
        out = bytearray()
        last, last_stride = self.size[-1], self.stride[-1]

        def walk(dim, base):
            if dim == len(self.size) - 1:
                if last_stride == 1:
                    out.extend(data[base * item:(base + last) * item])
                else:
                    for j in range(last):
                        p = (base + j * last_stride) * item
                        out.extend(data[p:p + item])
                return
            for j in range(self.size[dim]):
                walk(dim + 1, base + j * self.stride[dim])

        walk(0, self.offset)
        return bytes(out)


def rebuild_tensor(storage, offset, size, stride, *_rest):
    return Tensor(storage, offset, size, stride)


class Unpickler(pickle.Unpickler):
    ALLOWED = {
        ("collections", "OrderedDict"): collections.OrderedDict,
        ("torch._utils", "_rebuild_tensor_v2"): rebuild_tensor,
        ("torch._utils", "_rebuild_tensor"): rebuild_tensor,
    }

    def __init__(self, f, storages):
        super().__init__(f)
        self.storages = storages

    def find_class(self, module, name):
        if (module, name) in self.ALLOWED:
            return self.ALLOWED[(module, name)]
        if module == "torch" and name.endswith("Storage"):
            return StorageType(name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")

    def persistent_load(self, pid):
        # legacy: ('storage', type, key, location, numel, view_metadata); zip: 5 fields
        if not isinstance(pid, tuple) or pid[0] != "storage":
            raise pickle.UnpicklingError(f"unexpected persistent id {pid!r}")
        stype, key = pid[1], str(pid[2])
        if key not in self.storages:
            self.storages[key] = Storage(key, stype)
        return self.storages[key]


def load_legacy(raw):
    f = io.BytesIO(raw)
    magic = pickle.load(f)
    if magic != LEGACY_MAGIC:
        raise ValueError("not a PyTorch file (bad magic number)")
    protocol = pickle.load(f)
    if protocol != 1001:
        raise ValueError(f"unsupported legacy protocol {protocol}")
    pickle.load(f)  # sys info
    storages = {}
    obj = Unpickler(f, storages).load()
    keys = pickle.load(f)
    for key in keys:
        (numel,) = struct.unpack("<q", f.read(8))
        st = storages[str(key)]
        nbytes = numel * st.stype.itemsize
        st.data = f.read(nbytes)
        if len(st.data) != nbytes:
            raise ValueError(f"truncated storage {key}")
    return obj


def load_zip(raw):
    z = zipfile.ZipFile(io.BytesIO(raw))
    names = z.namelist()
    pkl = next(n for n in names if n.endswith("/data.pkl") or n == "data.pkl")
    prefix = pkl[: -len("data.pkl")]
    storages = {}
    obj = Unpickler(io.BytesIO(z.read(pkl)), storages).load()
    for key, st in storages.items():
        st.data = z.read(f"{prefix}data/{key}")
    return obj


def load(path):
    raw = open(path, "rb").read()
    obj = load_zip(raw) if raw[:2] == b"PK" else load_legacy(raw)
    if isinstance(obj, dict) and "state_dict" in obj:
        obj = obj["state_dict"]
    if not isinstance(obj, dict):
        raise ValueError(f"{path}: not a state dict")
    return obj


def stage_index(repeats):
    """flat block number -> (stage, index in stage)"""
    out = []
    for s, n in enumerate(repeats):
        out += [(s, i) for i in range(n)]
    return out


BN = {"weight", "bias", "running_mean", "running_var", "num_batches_tracked"}


def map_mobilenetv2(key):
    blocks = stage_index([1, 2, 3, 4, 3, 3, 1])
    m = re.fullmatch(r"features\.0\.([01])\.(\w+)", key)
    if m:
        return ("conv_stem" if m[1] == "0" else "bn1") + "." + m[2]
    m = re.fullmatch(r"features\.18\.([01])\.(\w+)", key)
    if m:
        return ("conv_head" if m[1] == "0" else "bn2") + "." + m[2]
    m = re.fullmatch(r"classifier\.1\.(weight|bias)", key)
    if m:
        return "classifier." + m[1]
    m = re.fullmatch(r"features\.1\.conv\.(\d)(?:\.(\d))?\.(\w+)", key)
    if m:
        layer = {("0", "0"): "conv_dw", ("0", "1"): "bn1", ("1", None): "conv_pw", ("2", None): "bn2"}
        name = layer.get((m[1], m[2]))
        return name and f"blocks.0.0.{name}.{m[3]}"
    m = re.fullmatch(r"features\.(\d+)\.conv\.(\d)(?:\.(\d))?\.(\w+)", key)
    if m and 2 <= int(m[1]) <= 17:
        s, i = blocks[int(m[1]) - 1]
        layer = {
            ("0", "0"): "conv_pw",
            ("0", "1"): "bn1",
            ("1", "0"): "conv_dw",
            ("1", "1"): "bn2",
            ("2", None): "conv_pwl",
            ("3", None): "bn3",
        }
        name = layer.get((m[2], m[3]))
        return name and f"blocks.{s}.{i}.{name}.{m[4]}"
    return None


def map_lite0(key):
    blocks = stage_index([1, 2, 2, 3, 3, 4, 1])
    top = {"_conv_stem": "conv_stem", "_bn0": "bn1", "_conv_head": "conv_head", "_bn1": "bn2", "_fc": "classifier"}
    m = re.fullmatch(r"(_conv_stem|_bn0|_conv_head|_bn1|_fc)\.(\w+)", key)
    if m:
        return top[m[1]] + "." + m[2]
    m = re.fullmatch(r"_blocks\.(\d+)\.(_\w+?)\.(\w+)", key)
    if m and int(m[1]) < len(blocks):
        s, i = blocks[int(m[1])]
        if int(m[1]) == 0:
            layer = {"_depthwise_conv": "conv_dw", "_bn1": "bn1", "_project_conv": "conv_pw", "_bn2": "bn2"}
        else:
            layer = {
                "_expand_conv": "conv_pw",
                "_bn0": "bn1",
                "_depthwise_conv": "conv_dw",
                "_bn1": "bn2",
                "_project_conv": "conv_pwl",
                "_bn2": "bn3",
            }
        name = layer.get(m[2])
        return name and f"blocks.{s}.{i}.{name}.{m[3]}"
    return None


def write_safetensors(tensors, path, metadata):
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name]
        data = t.contiguous_bytes()
        header[name] = {"dtype": t.storage.stype.dtype, "shape": list(t.size), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    header["__metadata__"] = metadata
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def main(argv):
    if len(argv) != 4 or argv[1] not in ("mobilenetv2", "efficientnet-lite0"):
        sys.exit(__doc__)
    kind, src, dst = argv[1:]
    mapper = map_mobilenetv2 if kind == "mobilenetv2" else map_lite0
    sd = load(src)
    out, unknown = {}, []
    for key, t in sd.items():
        if not isinstance(t, Tensor):
            unknown.append(key)
            continue
        name = mapper(key)
        if name is None or name.split(".")[-1] not in BN | {"weight", "bias"}:
            unknown.append(key)
        elif name in out:
            raise SystemExit(f"{src}: two tensors map to {name}")
        else:
            out[name] = t
    if unknown:
        raise SystemExit(f"{src}: {len(unknown)} tensors with unexpected names, e.g. {unknown[:3]}")
    meta = {"format": "pt", "arch": "mobilenetv2_100" if kind == "mobilenetv2" else "efficientnet_lite0", "source": src.split("/")[-1]}
    write_safetensors(out, dst, meta)
    print(f"{dst}: {len(out)} tensors ({kind})")


if __name__ == "__main__":
    main(sys.argv)

#!/bin/sh
# The final measurements (settings chosen on `valid`, RESULTS.md): test accuracy once, fine-tuning
# time on 2 threads, nlu_data timing, ONNX export/quantisation. Run under /work/bin/cpu-exclusive.
set -e
cd "$(dirname "$0")/../.."
PY=${PY:-/work/ft-venv/bin/python}
STATES=${STATES:-/work/ft-data}
for ds in HWU64 BANKING77 CLINC150; do
  $PY scripts/finetune/run.py --dataset $ds --split test --frozen --frozen-scales 16 \
    --loss mnrl --epochs 3 --lr 5e-5 --batch 64 --temperature 0.05 --scales 32 \
    --save "$STATES/$ds.pt" --tag final
done
# nlu_data (~4,900 examples, 26 intents): 30 steps of the same training, to time a step
$PY scripts/finetune/run.py --nlu-timing --loss mnrl --epochs 1 --max-steps 30 --lr 5e-5 \
  --batch 64 --tag final
for ds in HWU64 BANKING77 CLINC150; do
  $PY scripts/finetune/export_onnx.py --state "$STATES/$ds.pt" --dataset $ds --split test \
    --scale 32 --out "$STATES/onnx-$ds"
done
# Second final setting: the scale chosen per dataset on `valid` (HWU64 x32 as above, BANKING77
# x64, CLINC150 x16), scored on the models trained above (no retraining).
if [ -n "$PER_DATASET" ]; then
  $PY scripts/finetune/run.py --dataset BANKING77 --split test --load "$STATES/BANKING77.pt" \
    --scales 64 --tag final-per-dataset-scale
  $PY scripts/finetune/run.py --dataset CLINC150 --split test --load "$STATES/CLINC150.pt" \
    --scales 16 --tag final-per-dataset-scale
fi

#!/bin/bash
# loss comparison on CEDAR fold 0 (same writers as the cross-validation's fold 0), short equal budget
for loss in triplet_l2 contrastive logistic batch_hard; do
  margin=0.25
  [ $loss = triplet_l2 ] && margin=0.5   # squared L2 of unit vectors = 2 - 2 cos: 0.5 here = 0.25 in cosine
  [ $loss = contrastive ] && margin=1.0
  .venv/bin/python -m training crossval --out runs/cmp_$loss --folds 0 --set loss.name=$loss \
    --set loss.margin=$margin --set optim.epochs=5 --set threads=1 > runs/cmp_$loss.log 2>&1
done

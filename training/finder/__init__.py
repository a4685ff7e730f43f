"""The learned signature finder: data (generated cheques of many layout families), a small U-Net,
training with checkpoints, ONNX export with metadata and a card. Run ``python -m training.finder``."""

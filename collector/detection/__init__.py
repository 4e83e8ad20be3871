"""Real-time detection of shutdowns, blocks, throttling and outages (docs/detection.md)."""

from collector.detection.detector import Detector
from collector.detection.settings import DetectionSettings

__all__ = ["DetectionSettings", "Detector"]

"""imgaudit: a compliance linter for Alibaba Cloud ECS images."""

__version__ = "0.1.0"

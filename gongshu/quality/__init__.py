"""Data quality (数据质量): scores per version and per agency, timeliness and overdue notices."""

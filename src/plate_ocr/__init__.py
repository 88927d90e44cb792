"""plate-ocr: train and ship an OCR model for Algerian licence plates."""

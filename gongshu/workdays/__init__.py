"""Official working days (工作日) and the deadlines counted in them.

``calendar`` answers whether a day is a working day and what "N working days after D" is;
``service`` keeps the admin's override table and the deadlines other areas open and close.
"""

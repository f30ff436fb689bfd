"""Manual review: what a person sees and enters after grading (`grade review OUT`).

answers.py: the manual items of each student, stored at grading time; markup.py: a student's
markdown -> safe HTML with MathML; page.py: the review page; server.py: the local server.
"""

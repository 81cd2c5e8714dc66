# Run inside the new root after the build: every library of this environment must import,
# and a CJK title must render without a missing-glyph warning.
import importlib
import warnings

MODULES = """numpy pandas scipy sympy sklearn statsmodels networkx matplotlib seaborn plotly
PIL cv2 skimage openpyxl xlrd xlsxwriter docx pypdf reportlab lxml bs4 requests tabulate
tqdm yaml jieba ipykernel""".split()
for name in MODULES:
    importlib.import_module(name)

import io

import matplotlib.pyplot as plt

# A missing glyph is a warning: make it fail the build.
warnings.simplefilter("error")
figure = plt.figure()
figure.suptitle("绘图功能正常")
figure.savefig(io.BytesIO(), format="png")
print("all", len(MODULES), "modules import; a CJK title renders")
